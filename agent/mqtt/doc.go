// Package mqtt ingests meter readings from an MQTT broker (paho.mqtt.golang).
//
// Payloads are decoded by Decoder (payload.go, pure): plain numbers, JSON with
// a field path, Home Assistant's mqtt_statestream, wmbusmeters, AI-on-the-edge
// and Tasmota SML, with the timestamp taken from the payload where there is
// one (with or without offset; without, in the configured zone) and the
// arrival time otherwise, scaled to the meter's unit.
//
// Subscriber (subscriber.go) delivers at least once, end to end:
//
//   - a persistent session (fixed client id, clean session off) at QoS 1, so
//     the broker queues what arrives while the agent is down;
//   - every message is acknowledged only after its readings were committed
//     (Committer.Commit returned nil) or, for a payload that can never be a
//     reading, after it was recorded as a dead letter with its reason;
//   - a failed commit leaves its messages unacknowledged and forces a
//     reconnect, with backoff, because brokers redeliver only on a new
//     connection;
//   - subscriptions are renewed on every (re)connect, for brokers that lost
//     their state;
//   - at most Options.MaxInflight messages are held unacknowledged, and
//     messages that arrive together are committed in one batch.
//
// Consequences a caller must know:
//
//   - readings can arrive twice (redelivery), so the store must be
//     idempotent per meter and time;
//   - a retained message replayed on subscribe is used only when its payload
//     carries a time, since "now" would be an invented reading time; other
//     retained messages are acknowledged and counted in Stats.Ignored, as
//     are messages no subscription matches (a persistent session keeps
//     filters that were removed from the configuration);
//   - readings queued by the broker while the agent was down that carry no
//     payload time get their (late) arrival time.
package mqtt
