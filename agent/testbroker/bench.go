package testbroker

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// BenchPayload is reading i as published at t, in the JSON a subscription
// with Field "v" and TimeField "t" reads. Carrying the publish time as the
// reading time lets the committer measure publish→commit latency.
func BenchPayload(i int, t time.Time) string {
	return fmt.Sprintf(`{"v":%d,"t":%d.%09d}`, i, t.Unix(), t.Nanosecond())
}

// PublishFlood publishes n QoS 1 messages, payload(0) to payload(n-1), to
// topic as fast as the broker takes them, and returns once every one is
// acknowledged; a failed publish is a benchmark error.
func PublishFlood(b *testing.B, c paho.Client, topic string, n int, payload func(i int) string) {
	b.Helper()
	// Tokens wait in order in a bounded channel: the bound keeps the
	// publisher's memory flat, one waiter keeps its CPU cost low, and the
	// broker is never idle.
	tokens := make(chan paho.Token, 2000)
	var wg sync.WaitGroup
	wg.Go(func() {
		for tok := range tokens {
			if !tok.WaitTimeout(time.Minute) || tok.Error() != nil {
				b.Errorf("publish: %v", tok.Error())
			}
		}
	})
	for i := range n {
		tokens <- c.Publish(topic, 1, false, payload(i))
	}
	close(tokens)
	wg.Wait()
}

// PublishPaced publishes n QoS 1 messages, payload(0) to payload(n-1), to
// topic at one per interval, without waiting for acknowledgements. A
// ticker drops ticks when the process is starved, so the caller should
// report the rate it really offered.
func PublishPaced(c paho.Client, topic string, n int, interval time.Duration, payload func(i int) string) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := range n {
		<-tick.C
		c.Publish(topic, 1, false, payload(i))
	}
}

// ReportLatency reports the median, 99th percentile and maximum of lat in
// milliseconds as the metrics p50-ms, p99-ms and max-ms. It sorts lat,
// which must not be empty.
func ReportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
}
