package main

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/meteragent/meteragent/agent"
	"github.com/meteragent/meteragent/agent/mqtt"
	"github.com/meteragent/meteragent/agent/testbroker"
	"github.com/meteragent/meteragent/processing"
	"github.com/meteragent/meteragent/storage"
)

// latencyCommitter is the agent as the subscriber's Committer, noting when
// each reading's commit returned. The payload carries its publish time as
// the reading time, so the difference is publish→commit latency.
type latencyCommitter struct {
	*agent.Agent
	mu      sync.Mutex
	latency []time.Duration
	want    int
	done    chan struct{}
}

func (c *latencyCommitter) Commit(ctx context.Context, rs []processing.MeterReading) error {
	if err := c.Agent.Commit(ctx, rs); err != nil {
		return err
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	before := len(c.latency)
	for _, r := range rs {
		c.latency = append(c.latency, now.Sub(r.Time))
	}
	if before < c.want && len(c.latency) >= c.want {
		close(c.done)
	}
	return nil
}

// benchAgent wires the product's ingest path as `meteragent run` does, with
// the small test house: Mosquitto → mqtt.Subscriber → agent.Commit →
// storage (bbolt, fsync on every commit), with the recompute loop running.
// It waits until the first reading has gone through.
func benchAgent(b *testing.B, want int) (*latencyCommitter, paho.Client) {
	b.Helper()
	broker := testbroker.StartMosquitto(b, testbroker.MosquittoConfig{})
	s, err := loadSetup(agentDir(b, ""))
	if err != nil {
		b.Fatal(err)
	}
	db, err := storage.Open(filepath.Join(b.TempDir(), "bench.db"), storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	st, err := newAgentStore(db, discardLogger())
	if err != nil {
		b.Fatal(err)
	}
	a, err := agent.New(st, agent.Options{House: s.house, Run: runOptions(s.cfg, s.loc), Debounce: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	c := &latencyCommitter{Agent: a, want: want, done: make(chan struct{})}
	sub, err := mqtt.New(mqtt.Options{
		Broker: broker.URL(), ClientID: "meteragent-bench", Logger: discardLogger(),
		Subscriptions: []mqtt.Subscription{{Topic: "bench/strom", Meter: "strom", Format: mqtt.FormatJSON, Field: "v", TimeField: "t"}},
	}, c)
	if err != nil {
		b.Fatal(err)
	}
	a.AddSource(sub)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := a.Run(ctx); err != nil {
			b.Error(err)
		}
	})
	b.Cleanup(func() {
		cancel()
		wg.Wait()
		db.Close()
	})
	pub := testbroker.NewPublisher(b, broker.URL(), "bench-publisher", testbroker.PublisherOptions{})
	testbroker.Eventually(b.Context(), b, func() bool {
		testbroker.Publish(b, pub, "bench/strom", testbroker.BenchPayload(0, time.Now()))
		time.Sleep(50 * time.Millisecond)
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.latency) > 0 {
			c.latency = c.latency[:0]
			return true
		}
		return false
	}, "agent not receiving")
	return c, pub
}

// benchPayload is reading i+1 published now: values grow from 1 like a
// register, above the warm-up reading 0.
func benchPayload(i int) string { return testbroker.BenchPayload(i+1, time.Now()) }

// BenchmarkAgentIngest publishes QoS 1 readings as fast as Mosquitto takes
// them and reports readings/s until every one is committed to bbolt by the
// agent and acknowledged. Run with -benchtime=20000x or more.
func BenchmarkAgentIngest(b *testing.B) {
	n := max(b.N, 1000)
	c, pub := benchAgent(b, n)
	b.ResetTimer()
	start := time.Now()
	testbroker.PublishFlood(b, pub, "bench/strom", n, benchPayload)
	published := time.Since(start)
	select {
	case <-c.done:
	case <-time.After(2 * time.Minute):
		b.Fatal("not all readings committed")
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(n)/published.Seconds(), "published/s")
	b.ReportMetric(float64(n)/elapsed.Seconds(), "readings/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkAgentLatency publishes readings at a steady 500/s and reports
// the publish→commit latency percentiles through the same path. Run with
// e.g. -benchtime=10000x (20 s).
func BenchmarkAgentLatency(b *testing.B) {
	n := max(b.N, 500)
	c, pub := benchAgent(b, n)
	b.ResetTimer()
	start := time.Now()
	testbroker.PublishPaced(pub, "bench/strom", n, 2*time.Millisecond, benchPayload)
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "offered/s")
	select {
	case <-c.done:
	case <-time.After(time.Minute):
		b.Fatal("not all readings committed")
	}
	b.StopTimer()
	c.mu.Lock()
	lat := slices.Clone(c.latency)
	c.mu.Unlock()
	testbroker.ReportLatency(b, lat)
	b.ReportMetric(0, "ns/op")
}
