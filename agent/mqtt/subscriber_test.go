package mqtt_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	bolt "go.etcd.io/bbolt"

	"github.com/meteragent/meteragent/agent/mqtt"
	"github.com/meteragent/meteragent/agent/testbroker"
	"github.com/meteragent/meteragent/processing"
)

// memStore is a Committer in memory. failCommits makes that many Commit
// calls fail; between hold and release every Commit waits.
type memStore struct {
	mu          sync.Mutex
	readings    []processing.MeterReading
	deadLetters []string // reasons
	failCommits int
	held        chan struct{} // non-nil while held
	entered     chan struct{} // gets a value each time Commit starts (if set)
}

func (m *memStore) hold() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.held = make(chan struct{})
}

func (m *memStore) release() {
	m.mu.Lock()
	defer m.mu.Unlock()
	close(m.held)
	m.held = nil
}

func (m *memStore) Commit(ctx context.Context, rs []processing.MeterReading) error {
	if m.entered != nil {
		select {
		case m.entered <- struct{}{}:
		default:
		}
	}
	m.mu.Lock()
	held := m.held
	m.mu.Unlock()
	if held != nil {
		select {
		case <-held:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failCommits > 0 {
		m.failCommits--
		return errors.New("injected commit failure")
	}
	m.readings = append(m.readings, rs...)
	return nil
}

func (m *memStore) DeadLetter(_ context.Context, _ string, _ []byte, _ time.Time, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deadLetters = append(m.deadLetters, reason)
	return nil
}

// values returns the distinct committed values of meter.
func (m *memStore) values(meter string) map[float64]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[float64]bool{}
	for _, r := range m.readings {
		if r.Meter == meter {
			out[r.Value] = true
		}
	}
	return out
}

func (m *memStore) deadCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.deadLetters)
}

// runSubscriber runs a Subscriber until the test ends (or stop is called)
// and checks that Run returns nil.
func runSubscriber(t testing.TB, opts mqtt.Options, c mqtt.Committer) (s *mqtt.Subscriber, stop func()) {
	t.Helper()
	s, err := mqtt.New(opts, c)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run() = %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return s, stop
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestMochiIngestDeadLettersAndAcks(t *testing.T) {
	broker := testbroker.StartMochi(t)
	store := &memStore{}
	const id = "meteragent-ingest"
	s, _ := runSubscriber(t, mqtt.Options{
		Broker:   broker.URL(),
		ClientID: id,
		Logger:   discard(),
		Subscriptions: []mqtt.Subscription{
			{MeterFromTopic: "meters/{meter}", Format: mqtt.FormatNumber},
			{Topic: "wmbusmeters/+", Meter: "wasser", Format: mqtt.FormatWMBusMeters, Field: "total_m3"},
		},
	}, store)
	pub := testbroker.NewPublisher(t, broker.URL(), "pub-ingest", testbroker.PublisherOptions{Persistent: true})
	testbroker.Eventually(t.Context(), t, func() bool {
		cl, ok := broker.Server.Clients.Get(id)
		return ok && cl.State.Subscriptions.Len() == 2
	}, "subscriber did not subscribe")

	for i := range 50 {
		testbroker.Publish(t, pub, "meters/gas", strconv.Itoa(i))
	}
	testbroker.Publish(t, pub, "meters/gas", "kaputt")
	testbroker.Publish(t, pub, "wmbusmeters/MyTapWater", string(mustReadSample(t, "wmbusmeters-iperl.json")))
	testbroker.Publish(t, pub, "wmbusmeters/MyTapWater", `{"total_m3":null}`)

	testbroker.Eventually(t.Context(), t, func() bool {
		return len(store.values("gas")) == 50 && len(store.values("wasser")) == 1 && store.deadCount() == 2
	}, "got gas %d/50, wasser %d/1, dead letters %d/2", len(store.values("gas")), len(store.values("wasser")), store.deadCount())
	if !store.values("wasser")[123.529] {
		t.Errorf("wasser readings %v, want 123.529", store.values("wasser"))
	}
	testbroker.Eventually(t.Context(), t, func() bool { return broker.Inflight(id) == 0 }, "broker still holds unacknowledged messages")
	if st := s.Stats(); st.DeadLettered != 2 || st.Committed < 51 || st.CommitErrors != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestMochiAcksOnlyAfterCommit(t *testing.T) {
	broker := testbroker.StartMochi(t)
	store := &memStore{entered: make(chan struct{}, 1)}
	store.hold()
	const id = "meteragent-ack"
	runSubscriber(t, mqtt.Options{
		Broker: broker.URL(), ClientID: id, Logger: discard(),
		Subscriptions: []mqtt.Subscription{{Topic: "m", Meter: "m", Format: mqtt.FormatNumber}},
	}, store)
	pub := testbroker.NewPublisher(t, broker.URL(), "pub-ack", testbroker.PublisherOptions{Persistent: true})
	testbroker.Eventually(t.Context(), t, func() bool {
		cl, ok := broker.Server.Clients.Get(id)
		return ok && cl.State.Subscriptions.Len() == 1
	}, "subscriber did not subscribe")
	testbroker.Publish(t, pub, "m", "42")
	select {
	case <-store.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("Commit was not called")
	}
	if n := broker.Inflight(id); n != 1 {
		t.Fatalf("while Commit runs the broker holds %d unacknowledged messages, want 1", n)
	}
	store.release()
	testbroker.Eventually(t.Context(), t, func() bool { return broker.Inflight(id) == 0 }, "message not acknowledged after commit")
	if !store.values("m")[42] {
		t.Error("reading not committed")
	}
}

func TestMochiRedeliversAfterFailedCommit(t *testing.T) {
	broker := testbroker.StartMochi(t)
	store := &memStore{failCommits: 1}
	const id = "meteragent-redeliver"
	s, _ := runSubscriber(t, mqtt.Options{
		Broker: broker.URL(), ClientID: id, Logger: discard(),
		Subscriptions: []mqtt.Subscription{{Topic: "m", Meter: "m", Format: mqtt.FormatNumber}},
	}, store)
	pub := testbroker.NewPublisher(t, broker.URL(), "pub-redeliver", testbroker.PublisherOptions{Persistent: true})
	testbroker.Eventually(t.Context(), t, func() bool {
		cl, ok := broker.Server.Clients.Get(id)
		return ok && cl.State.Subscriptions.Len() == 1
	}, "subscriber did not subscribe")
	testbroker.Publish(t, pub, "m", "7")
	testbroker.Eventually(t.Context(), t, func() bool { return store.values("m")[7] }, "reading not committed after redelivery")
	testbroker.Eventually(t.Context(), t, func() bool { return broker.Inflight(id) == 0 }, "redelivered message not acknowledged")
	if st := s.Stats(); st.CommitErrors != 1 || st.Reconnects != 1 || st.Received < 2 {
		t.Errorf("stats %+v, want 1 commit error, 1 reconnect, the message received twice", st)
	}
}

func TestMochiResubscribesAfterBrokerLosesState(t *testing.T) {
	broker := testbroker.StartMochi(t)
	store := &memStore{}
	const id = "meteragent-resubscribe"
	runSubscriber(t, mqtt.Options{
		Broker: broker.URL(), ClientID: id, Logger: discard(), MaxReconnectInterval: 200 * time.Millisecond,
		Subscriptions: []mqtt.Subscription{{Topic: "m", Meter: "m", Format: mqtt.FormatNumber}},
	}, store)
	subscribed := func() bool {
		cl, ok := broker.Server.Clients.Get(id)
		return ok && !cl.Closed() && cl.State.Subscriptions.Len() == 1
	}
	testbroker.Eventually(t.Context(), t, subscribed, "subscriber did not subscribe")
	// The new broker has no session for us: only a new SUBSCRIBE gets
	// messages flowing again.
	broker.Restart()
	testbroker.Eventually(t.Context(), t, subscribed, "subscriber did not subscribe again after the restart")
	if err := broker.Server.Publish("m", []byte("5"), false, 1); err != nil {
		t.Fatal(err)
	}
	testbroker.Eventually(t.Context(), t, func() bool { return store.values("m")[5] }, "reading after broker restart not committed")
}

func TestMosquittoRestartMidStreamLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	broker := testbroker.StartMosquitto(t, testbroker.MosquittoConfig{})
	store := &memStore{}
	s, _ := runSubscriber(t, mqtt.Options{
		Broker: broker.URL(), ClientID: "meteragent-restart", Logger: discard(),
		MaxReconnectInterval: 500 * time.Millisecond,
		Subscriptions:        []mqtt.Subscription{{Topic: "meters/strom", Meter: "strom", Format: mqtt.FormatNumber}},
	}, store)
	pub := testbroker.NewPublisher(t, broker.URL(), "pub-restart", testbroker.PublisherOptions{Persistent: true})
	// Wait for the subscription, so the broker queues what follows.
	testbroker.Eventually(t.Context(), t, func() bool {
		testbroker.Publish(t, pub, "meters/strom", "-1")
		return store.values("strom")[-1]
	}, "subscriber not receiving")

	// Commits are held from shortly before the broker stops until after it
	// is back, so messages are in flight, unacknowledged, when it stops;
	// the acknowledgements of their late commits are lost with the old
	// connection and the broker must redeliver them.
	const n = 600
	tokens := make([]paho.Token, n)
	for i := range n {
		switch i {
		case n/3 - 50:
			store.hold()
		case n / 3:
			broker.Stop()
		case n / 2:
			broker.Start()
		case n/2 + 50:
			store.release()
		}
		tokens[i] = pub.Publish("meters/strom", 1, false, strconv.Itoa(i))
		time.Sleep(time.Millisecond)
	}
	for i, tok := range tokens {
		// A publish refused while the client was between connections is
		// sent again; the broker's PUBACK is what makes it the broker's.
		for !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
			t.Logf("republish %d: %v", i, tok.Error())
			time.Sleep(100 * time.Millisecond)
			tok = pub.Publish("meters/strom", 1, false, strconv.Itoa(i))
		}
	}
	testbroker.Eventually(t.Context(), t, func() bool { return len(store.values("strom")) == n+1 },
		"committed %d of %d readings", len(store.values("strom")), n+1)
	for i := range n {
		if !store.values("strom")[float64(i)] {
			t.Errorf("reading %d lost", i)
		}
	}
	t.Logf("stats after restart: %+v", s.Stats())
}

func TestMosquittoTLSAndPassword(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const user, pass = "meteragent", "s3cret-pw"
	broker := testbroker.StartMosquitto(t, testbroker.MosquittoConfig{TLS: true, Users: map[string]string{user: pass, "pub": "pubpw"}})
	pem, err := os.ReadFile(broker.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	tc := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}

	// The broker enforces the password: a wrong one is refused.
	bad := paho.NewClient(paho.NewClientOptions().AddBroker(broker.URL()).SetClientID("intruder").
		SetUsername(user).SetPassword("wrong").SetTLSConfig(tc).SetConnectTimeout(5 * time.Second))
	if tok := bad.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() == nil {
		t.Fatalf("connect with a wrong password: %v, want refusal", tok.Error())
	}

	// Our subscriber with the wrong password keeps retrying and says so,
	// without logging the password.
	var logs testbroker.SyncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, stopBad := runSubscriber(t, mqtt.Options{
		Broker: broker.URL(), ClientID: "meteragent-badpw", Username: user, Password: "wrong-" + pass, Logger: logger,
		TLS:           mqtt.TLSOptions{CAFile: broker.CAFile},
		Subscriptions: []mqtt.Subscription{{Topic: "m", Meter: "m", Format: mqtt.FormatNumber}},
	}, &memStore{})
	testbroker.Eventually(t.Context(), t, func() bool { return strings.Contains(logs.String(), "connect failed") }, "no connect failure logged")
	stopBad()

	store := &memStore{}
	runSubscriber(t, mqtt.Options{
		Broker: broker.URL(), ClientID: "meteragent-tls", Username: user, Password: pass, Logger: logger,
		TLS:           mqtt.TLSOptions{CAFile: broker.CAFile},
		Subscriptions: []mqtt.Subscription{{Topic: "m", Meter: "m", Format: mqtt.FormatNumber}},
	}, store)
	pub := testbroker.NewPublisher(t, broker.URL(), "pub-tls", testbroker.PublisherOptions{Persistent: true, TLS: tc, Username: "pub", Password: "pubpw"})
	testbroker.Eventually(t.Context(), t, func() bool {
		testbroker.Publish(t, pub, "m", "3.5")
		return store.values("m")[3.5]
	}, "no reading over TLS with password")
	if strings.Contains(logs.String(), pass) {
		t.Errorf("log contains the password:\n%s", logs.String())
	}
}

// boltStore commits each batch in one fsync'd bbolt transaction, like the
// real store, and records when each reading was committed.
type boltStore struct {
	db *bolt.DB
	mu sync.Mutex
	// latency of each committed reading: commit time minus reading time
	latency []time.Duration
	count   int // readings of meter "bench"
	commits int
	done    chan struct{}
	want    int
	probed  chan struct{}
	once    sync.Once
}

var readingsBucket = []byte("readings")

func newBoltStore(tb testing.TB, want int) *boltStore {
	tb.Helper()
	db, err := bolt.Open(filepath.Join(tb.TempDir(), "bench.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return &boltStore{db: db, done: make(chan struct{}), want: want, probed: make(chan struct{})}
}

func (b *boltStore) Commit(_ context.Context, rs []processing.MeterReading) error {
	err := b.db.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists(readingsBucket)
		if err != nil {
			return err
		}
		for _, r := range rs {
			key := binary.BigEndian.AppendUint64([]byte(r.Meter+"\x00"), uint64(r.Time.UnixNano()))
			if err := bk.Put(key, binary.BigEndian.AppendUint64(nil, uint64(r.Value))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	before := b.count
	b.commits++
	for _, r := range rs {
		if r.Meter == "probe" {
			b.once.Do(func() { close(b.probed) })
			continue
		}
		b.latency = append(b.latency, now.Sub(r.Time))
		b.count++
	}
	if before < b.want && b.count >= b.want {
		close(b.done)
	}
	return nil
}

func (b *boltStore) DeadLetter(context.Context, string, []byte, time.Time, string) error {
	return errors.New("benchmark payloads are all valid")
}

// benchSubscriber starts Mosquitto and a subscriber into a fresh boltStore
// waiting for want readings. The payload carries the publish time, so
// commit time minus reading time is the publish→commit latency.
func benchSubscriber(b *testing.B, want int) (*boltStore, paho.Client) {
	broker := testbroker.StartMosquitto(b, testbroker.MosquittoConfig{})
	store := newBoltStore(b, want)
	runSubscriber(b, mqtt.Options{
		Broker: broker.URL(), ClientID: "meteragent-bench", Logger: discard(),
		Subscriptions: []mqtt.Subscription{
			{Topic: "bench/+", Meter: "bench", Format: mqtt.FormatJSON, Field: "v", TimeField: "t"},
			{Topic: "probe", Meter: "probe", Format: mqtt.FormatNumber},
		},
	}, store)
	pub := testbroker.NewPublisher(b, broker.URL(), "pub-bench", testbroker.PublisherOptions{Persistent: true})
	// A round trip proves the subscription is in place before timing.
	testbroker.Eventually(b.Context(), b, func() bool {
		testbroker.Publish(b, pub, "probe", "1")
		select {
		case <-store.probed:
			return true
		case <-time.After(100 * time.Millisecond):
			return false
		}
	}, "subscriber not receiving")
	return store, pub
}

// payload is bench reading i, published now.
func payload(i int) string { return testbroker.BenchPayload(i, time.Now()) }

// BenchmarkIngestMosquitto publishes QoS 1 readings as fast as Mosquitto
// takes them and measures readings/s until all are committed to bbolt (one
// fsync'd transaction per batch) and acknowledged.
func BenchmarkIngestMosquitto(b *testing.B) {
	n := max(b.N, 1000)
	store, pub := benchSubscriber(b, n)
	b.ResetTimer()
	start := time.Now()
	testbroker.PublishFlood(b, pub, "bench/x", n, payload)
	published := time.Since(start)
	select {
	case <-store.done:
	case <-time.After(2 * time.Minute):
		b.Fatalf("committed %d of %d readings", store.count, n)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	// published/s near readings/s means the publisher, not the
	// subscriber, set the pace.
	b.ReportMetric(float64(n)/published.Seconds(), "published/s")
	b.ReportMetric(float64(n)/elapsed.Seconds(), "readings/s")
	store.mu.Lock()
	b.ReportMetric(float64(store.count)/float64(store.commits), "readings/commit")
	store.mu.Unlock()
	b.ReportMetric(0, "ns/op")
}

// BenchmarkPublishToCommitLatency publishes b.N readings at a steady
// 500 readings/s and reports the publish→commit latency percentiles.
// Run with e.g. -benchtime=5000x.
func BenchmarkPublishToCommitLatency(b *testing.B) {
	n := max(b.N, 500)
	store, pub := benchSubscriber(b, n)
	b.ResetTimer()
	start := time.Now()
	testbroker.PublishPaced(pub, "bench/x", n, 2*time.Millisecond, payload)
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "offered/s")
	select {
	case <-store.done:
	case <-time.After(time.Minute):
		b.Fatalf("committed %d of %d readings", store.count, n)
	}
	b.StopTimer()
	store.mu.Lock()
	lat := slices.Clone(store.latency)
	store.mu.Unlock()
	testbroker.ReportLatency(b, lat)
	b.ReportMetric(0, "ns/op")
}
