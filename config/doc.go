// Package config loads and validates meteragent's configuration.
//
// A configuration is a directory holding the three YAML files of the Python
// pipeline that meteragent replaces: config.yaml, meters.yaml and
// seasonal_patterns.yaml (optional). Such a directory loads unchanged. Keys
// of the old schema that meteragent does not use are accepted and reported as
// Notices; keys that neither schema knows are errors with a "did you mean"
// hint, so typos do not pass silently.
//
// Validation reports every problem at once, as errors.Join of *FieldError,
// each naming the file, line and key path:
//
//	meters.yaml:14: meters[3].installation_date: missing (required for physical meters)
//
// The package only parses and validates: it imports no other meteragent
// package, and mapping a Config onto runtime options is the caller's job.
//
// # config.yaml
//
//	timezone: Europe/Berlin        # meteragent; IANA name, default: the machine's zone
//	processing:                    # meteragent
//	  first_day: 2020-01-01        # default: January 1st of workflows.analytics.start_year, else 2020
//	  max_extrapolation_days: 90   # -1 unlimited, 0 none
//	  measured_gap: 3h
//	  anomaly_method: profile     # or consensus, the old 2-of-3 vote
//	influxdb:
//	  url: http://localhost:8086   # absent: no InfluxDB
//	  bucket_raw: lampfi
//	  bucket_processed: lampfi_processed
//	  timeout: 30                  # seconds, or a duration like "30s"
//	  retry_attempts: 3
//	tibber:
//	  polling_interval: 3600       # seconds, or a duration like "1h"
//	  lookback_hours: 48
//	  max_lookback_hours: 720
//	  meter_id: haupt_strom
//	gas_conversion:
//	  energy_content: 11.504       # kWh per m³
//	  z_factor: 0.8885
//	workflows:
//	  analytics: {schedule: "0 2 * * *", start_year: 2020}
//	  tibber_sync: {schedule: "5 * * * *"}
//	logging:
//	  level: INFO                  # DEBUG, INFO, WARNING, ERROR
//	  format: text                 # text or json
//	  file, max_bytes, backup_count          # accepted, not used (Notice)
//	meters_config, seasonal_patterns_config  # accepted, not used (Notice)
//	mqtt:                          # meteragent; MQTT ingest
//	  broker: tcp://localhost:1883 # tcp, mqtt, ssl, tls, mqtts; absent or "": no MQTT
//	  client_id: meteragent        # fixed: names the persistent session
//	  username: agent
//	  password: ${MQTT_PASSWORD}   # ${VAR} from the environment; or password_file
//	  password_file: mqtt.pass     # first line is the password
//	  tls: {ca_file, cert_file, key_file, server_name, insecure_skip_verify}
//	  max_inflight: 1000           # messages held unacknowledged at most
//	  subscriptions:
//	    - topic_template: "wmbusmeters/{meter}"  # the meter id is a topic level
//	      format: wmbusmeters      # number, json, statestream, wmbusmeters, aiontheedge, tasmota
//	      field: total_m3          # value path (json, wmbusmeters, tasmota: required)
//	      time_field: timestamp    # time path; "-" = arrival time
//	      unit: m³                 # unit of the payload value; default the meter's
//	    - {meter: haupt_strom, topic: "tele/sml/SENSOR", format: tasmota, field: SML.Total_in}
//	storage:                       # meteragent
//	  path: meteragent.db          # relative to the config directory; default below
//	  max_size_mb: 960
//	http:                          # meteragent; status API and /metrics
//	  listen: 127.0.0.1:8099       # "" disables it
//	agent:                         # meteragent
//	  debounce: 5s                 # seconds, or a duration; wait after new readings
//	outdoor_temperature:           # meteragent; optional, absent: no temperature
//	  id: outdoor_temperature      # the series' id in the store and in readings CSVs; not a meter id
//	  base_temperature: 15.5       # °C; heating degree days count below it (above 0, at most 30)
//	  mqtt: {topic: "weather/outdoor/temperature", format: number}  # like a meter's mqtt block, no unit
//
// outdoor_temperature is an outdoor temperature series in °C whose heating
// degree days the learned profiles may follow: a meter whose use tracks them
// (gas for heating) has its use between readings spread over the days by
// them. Its readings arrive by MQTT (the block above; it needs mqtt.broker)
// or as rows of readings CSVs with the series' id in the meter_id column.
// InfluxDB is not read. The series is not a meter: it has no daily series,
// results or exports.
//
// The database defaults to /var/lib/meteragent/meteragent.db for the
// configuration in /etc/meteragent, else meteragent.db beside config.yaml.
// Relative file paths (password_file, tls files) are relative to the
// configuration directory. A topic_template subscription covers every
// physical meter that has no subscription of its own (an mqtt: block in
// meters.yaml or an entry with meter:) and, when it names a unit, only the
// meters whose unit measures the same (energy or volume).
//
// # meters.yaml
//
// A list under meters:. Every meter has meter_id, type (physical, master or
// virtual), output_unit (Wh, kWh, MWh, m³ or m3, L) and description.
//
//   - physical: installation_date (required), deinstallation_date,
//     register_size (meteragent: the register wraps to 0 at this value),
//     mqtt (meteragent: {topic, format, field, time_field, unit}, where this
//     meter's readings arrive; see mqtt.subscriptions).
//   - master: periods, each with start_date (required), end_date (absent or
//     9999-12-31: open), composition_type (single or sum), source_meters
//     (physical or master meters), source_unit (default: output_unit) and
//     apply_offset_from_previous_period (or apply_offset).
//   - virtual: base_meter (any meter), subtract_meters,
//     subtract_meter_conversions {id: {from_unit, to_unit}} and
//     calculation_type (only subtraction).
//
// Keys of another meter type are accepted and reported as Notices. Units of
// sources and subtrahends must agree with what the referencing meter
// declares; master and virtual meters may not depend on each other in a cycle.
//
// # seasonal_patterns.yaml
//
// patterns: {meter_id: {monthly_percentages: [12 numbers, January first],
// description}}. Sums more than 0.5 away from 100 are Notices; patterns of
// unknown or non-physical meters are Notices.
package config
