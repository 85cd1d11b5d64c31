package mqtt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/meteragent/meteragent/processing"
)

// fakeMessage is a paho.Message that records its acknowledgement.
type fakeMessage struct {
	topic    string
	payload  []byte
	retained bool
	acks     atomic.Int32
}

var _ paho.Message = (*fakeMessage)(nil)

func (m *fakeMessage) Duplicate() bool   { return false }
func (m *fakeMessage) Qos() byte         { return 1 }
func (m *fakeMessage) Retained() bool    { return m.retained }
func (m *fakeMessage) Topic() string     { return m.topic }
func (m *fakeMessage) MessageID() uint16 { return 1 }
func (m *fakeMessage) Payload() []byte   { return m.payload }
func (m *fakeMessage) Ack()              { m.acks.Add(1) }

// fakeToken is a completed paho.Token.
type fakeToken struct{ err error }

var _ paho.Token = fakeToken{}

func (t fakeToken) Wait() bool                     { return true }
func (t fakeToken) WaitTimeout(time.Duration) bool { return true }
func (t fakeToken) Done() <-chan struct{}          { c := make(chan struct{}); close(c); return c }
func (t fakeToken) Error() error                   { return t.err }

// fakeClient "connects" at once and records what it is asked to do.
type fakeClient struct {
	opts       *paho.ClientOptions
	subscribed chan map[string]byte
	mu         sync.Mutex
	disconnect bool
}

func (c *fakeClient) Connect() paho.Token {
	go c.opts.OnConnect(nil)
	return fakeToken{}
}

func (c *fakeClient) Disconnect(uint) {
	c.mu.Lock()
	c.disconnect = true
	c.mu.Unlock()
}

func (c *fakeClient) SubscribeMultiple(filters map[string]byte, _ paho.MessageHandler) paho.Token {
	c.subscribed <- filters
	return fakeToken{}
}

// recorder is a Committer that keeps everything in memory. fail makes the
// next calls fail; block, when set, holds Commit until it is closed.
type recorder struct {
	mu          sync.Mutex
	readings    []processing.MeterReading
	commits     int
	deadLetters []deadLetter
	fail        int
	block       chan struct{}
}

type deadLetter struct {
	topic, payload, reason string
	received               time.Time
}

func (r *recorder) Commit(ctx context.Context, rs []processing.MeterReading) error {
	if r.block != nil {
		select {
		case <-r.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail > 0 {
		r.fail--
		return errors.New("disk full")
	}
	r.commits++
	r.readings = append(r.readings, rs...)
	return nil
}

func (r *recorder) DeadLetter(_ context.Context, topic string, payload []byte, received time.Time, reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail > 0 {
		r.fail--
		return errors.New("disk full")
	}
	r.deadLetters = append(r.deadLetters, deadLetter{topic, string(payload), reason, received})
	return nil
}

func (r *recorder) snapshot() ([]processing.MeterReading, []deadLetter) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.readings), slices.Clone(r.deadLetters)
}

var arrival = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testOptions(subs ...Subscription) Options {
	return Options{
		Broker:        "tcp://127.0.0.1:1",
		ClientID:      "meteragent-test",
		Subscriptions: subs,
		Now:           func() time.Time { return arrival },
	}
}

// startHandlers runs only the handler side of s (no client): its batcher,
// stopped and drained when the test ends or by the returned func.
func startHandlers(t *testing.T, s *Subscriber) (stop func()) {
	t.Helper()
	s.base = context.WithoutCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(s.batchLoop)
	var once sync.Once
	stop = func() { once.Do(func() { s.shutdown(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

func mustNew(t testing.TB, opts Options, c Committer) *Subscriber {
	t.Helper()
	s, err := New(opts, c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHandlerRoutesMessagesToMeters(t *testing.T) {
	tasmota, err := os.ReadFile(filepath.Join("..", "..", "testdata", "mqtt", "tasmota-tele-sensor.json"))
	if err != nil {
		t.Fatal(err)
	}
	wmbus, err := os.ReadFile(filepath.Join("..", "..", "testdata", "mqtt", "wmbusmeters-iperl.json"))
	if err != nil {
		t.Fatal(err)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	tasmotaTime := time.Date(2022, 7, 7, 13, 1, 11, 0, berlin)
	opts := testOptions(
		Subscription{Topic: "tele/+/SENSOR", Meter: "strom_bezug", Format: FormatTasmota, Field: "SML.Total_in"},
		Subscription{Topic: "tele/hichi/SENSOR", Meter: "strom_einspeisung", Format: FormatTasmota, Field: "SML.Total_out"},
		Subscription{MeterFromTopic: "wmbusmeters/{meter}", Format: FormatWMBusMeters, Field: "total_m3"},
		Subscription{Topic: "shellies/#", Meter: "shelly", Format: FormatNumber, Scale: 0.001},
	)
	opts.Location = berlin
	tests := []struct {
		name      string
		msg       *fakeMessage
		want      []processing.MeterReading
		wantDead  int
		wantIgnor uint64
	}{
		{"two subscriptions, one message", &fakeMessage{topic: "tele/hichi/SENSOR", payload: tasmota},
			[]processing.MeterReading{{Meter: "strom_bezug", Time: tasmotaTime, Value: 34507.4761}, {Meter: "strom_einspeisung", Time: tasmotaTime, Value: 14737.1422}}, 0, 0},
		{"wildcard level", &fakeMessage{topic: "tele/other/SENSOR", payload: tasmota},
			[]processing.MeterReading{{Meter: "strom_bezug", Time: tasmotaTime, Value: 34507.4761}}, 0, 0},
		{"meter from topic", &fakeMessage{topic: "wmbusmeters/MyTapWater", payload: wmbus},
			[]processing.MeterReading{{Meter: "MyTapWater", Time: time.Date(2024, 3, 3, 18, 37, 0, 0, time.UTC), Value: 123.529}}, 0, 0},
		{"multi-level wildcard", &fakeMessage{topic: "shellies/em3/emeter/0/total", payload: []byte("2000")},
			[]processing.MeterReading{{Meter: "shelly", Time: arrival, Value: 2}}, 0, 0},
		{"no subscription", &fakeMessage{topic: "zigbee2mqtt/z1", payload: []byte("1")}, nil, 0, 1},
		{"wildcard does not span levels", &fakeMessage{topic: "tele/a/b/SENSOR", payload: tasmota}, nil, 0, 1},
		{"bad payload", &fakeMessage{topic: "shellies/em3/emeter/0/total", payload: []byte("n/a")}, nil, 1, 0},
		{"one of two subscriptions fails", &fakeMessage{topic: "tele/hichi/SENSOR", payload: []byte(`{"Time":"2022-07-07T13:01:11","SML":{"Total_in":1}}`)},
			[]processing.MeterReading{{Meter: "strom_bezug", Time: tasmotaTime, Value: 1}}, 1, 0},
		{"retained without time is not a reading", &fakeMessage{topic: "shellies/em3/emeter/0/total", payload: []byte("2000"), retained: true}, nil, 0, 1},
		{"retained with time is", &fakeMessage{topic: "wmbusmeters/MyTapWater", payload: wmbus, retained: true},
			[]processing.MeterReading{{Meter: "MyTapWater", Time: time.Date(2024, 3, 3, 18, 37, 0, 0, time.UTC), Value: 123.529}}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			s := mustNew(t, opts, rec)
			stop := startHandlers(t, s)
			s.onMessage(nil, tt.msg)
			stop()
			got, dead := rec.snapshot()
			if !sameReadings(got, tt.want) {
				t.Errorf("committed %v, want %v", got, tt.want)
			}
			if len(dead) != tt.wantDead {
				t.Errorf("dead letters %v, want %d", dead, tt.wantDead)
			}
			for _, d := range dead {
				if d.reason == "" || d.topic != tt.msg.topic || d.payload != string(tt.msg.payload) || !d.received.Equal(arrival) {
					t.Errorf("dead letter %+v does not keep topic, payload, arrival and a reason", d)
				}
			}
			if n := tt.msg.acks.Load(); n != 1 {
				t.Errorf("acks = %d, want 1", n)
			}
			if st := s.Stats(); st.Ignored != tt.wantIgnor || st.Received != 1 || st.Acked != 1 {
				t.Errorf("stats %+v, want 1 received, 1 acked, %d ignored", st, tt.wantIgnor)
			}
		})
	}
}

func sameReadings(a, b []processing.MeterReading) bool {
	return slices.EqualFunc(a, b, func(x, y processing.MeterReading) bool {
		return x.Meter == y.Meter && x.Time.Equal(y.Time) && x.Value == y.Value
	})
}

func TestHandlerAcksOnlyAfterCommit(t *testing.T) {
	rec := &recorder{block: make(chan struct{})}
	s := mustNew(t, testOptions(Subscription{Topic: "m", Meter: "m", Format: FormatNumber}), rec)
	stop := startHandlers(t, s)
	msg := &fakeMessage{topic: "m", payload: []byte("1")}
	s.onMessage(nil, msg)
	// The commit is blocked: the message must not be acknowledged yet.
	time.Sleep(20 * time.Millisecond)
	if n := msg.acks.Load(); n != 0 {
		t.Fatalf("acked %d times before the commit returned", n)
	}
	close(rec.block)
	stop()
	if n := msg.acks.Load(); n != 1 {
		t.Fatalf("acks after commit = %d, want 1", n)
	}
}

func TestHandlerLeavesFailedMessagesUnacked(t *testing.T) {
	for _, tt := range []struct {
		name    string
		payload string
	}{
		{"commit fails", "1"},
		{"dead letter fails", "x"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{fail: 1}
			s := mustNew(t, testOptions(Subscription{Topic: "m", Meter: "m", Format: FormatNumber}), rec)
			stop := startHandlers(t, s)
			s.gen.Store(1)
			msg := &fakeMessage{topic: "m", payload: []byte(tt.payload)}
			s.onMessage(nil, msg)
			stop()
			if n := msg.acks.Load(); n != 0 {
				t.Errorf("acks = %d, want 0 (the broker must redeliver)", n)
			}
			select {
			case <-s.kick:
			default:
				t.Error("no reconnect requested after the failure")
			}
			if st := s.Stats(); st.CommitErrors != 1 || st.Acked != 0 {
				t.Errorf("stats %+v, want 1 commit error, 0 acked", st)
			}
			if len(s.sem) != 0 {
				t.Errorf("%d inflight tokens leaked", len(s.sem))
			}
		})
	}
}

func TestHandlerBoundsUnackedMessages(t *testing.T) {
	rec := &recorder{block: make(chan struct{})}
	opts := testOptions(Subscription{Topic: "m", Meter: "m", Format: FormatNumber})
	opts.MaxInflight = 3
	s := mustNew(t, opts, rec)
	stop := startHandlers(t, s)
	msgs := make([]*fakeMessage, 10)
	var handlers sync.WaitGroup
	for i := range msgs {
		msgs[i] = &fakeMessage{topic: "m", payload: fmt.Appendf(nil, "%d", i)}
		handlers.Go(func() { s.onMessage(nil, msgs[i]) })
	}
	// Commit is blocked: MaxInflight messages are taken, and no more.
	for deadline := time.Now().Add(10 * time.Second); s.Stats().Received < 3 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	if got := s.Stats().Received; got != 3 {
		t.Fatalf("received %d messages with commits blocked, want MaxInflight = 3", got)
	}
	close(rec.block)
	handlers.Wait()
	stop()
	got, _ := rec.snapshot()
	if len(got) != len(msgs) {
		t.Fatalf("committed %d readings, want %d", len(got), len(msgs))
	}
	for i, m := range msgs {
		if m.acks.Load() != 1 {
			t.Errorf("message %d acked %d times", i, m.acks.Load())
		}
	}
}

func TestShutdownLeavesLateMessagesWithTheBroker(t *testing.T) {
	rec := &recorder{}
	s := mustNew(t, testOptions(Subscription{Topic: "m", Meter: "m", Format: FormatNumber}), rec)
	stop := startHandlers(t, s)
	early := &fakeMessage{topic: "m", payload: []byte("1")}
	s.onMessage(nil, early)
	stop()
	late := &fakeMessage{topic: "m", payload: []byte("2")}
	s.onMessage(nil, late)
	if early.acks.Load() != 1 || late.acks.Load() != 0 {
		t.Errorf("acks early=%d late=%d, want 1 and 0", early.acks.Load(), late.acks.Load())
	}
	if got, _ := rec.snapshot(); len(got) != 1 {
		t.Errorf("committed %v, want only the early reading", got)
	}
}

func TestRunConfiguresPersistentSessionAndResubscribes(t *testing.T) {
	rec := &recorder{fail: 1}
	opts := testOptions(
		Subscription{Topic: "a/+", Meter: "a", Format: FormatNumber},
		Subscription{MeterFromTopic: "b/{meter}/state", Format: FormatStatestream},
	)
	opts.Password = "hunter2"
	s := mustNew(t, opts, rec)
	clients := make(chan *fakeClient, 4)
	s.newClient = func(o *paho.ClientOptions) client {
		c := &fakeClient{opts: o, subscribed: make(chan map[string]byte, 1)}
		clients <- c
		return c
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	first := <-clients
	o := first.opts
	if o.ClientID != "meteragent-test" || o.CleanSession || !o.AutoAckDisabled || o.Order || !o.AutoReconnect || !o.ConnectRetry || o.Password != "hunter2" {
		t.Errorf("options: client id %q, clean %v, auto-ack disabled %v, order %v, auto-reconnect %v, connect-retry %v",
			o.ClientID, o.CleanSession, o.AutoAckDisabled, o.Order, o.AutoReconnect, o.ConnectRetry)
	}
	want := map[string]byte{"a/+": 1, "b/+/state": 1}
	if got := <-first.subscribed; !equalFilters(got, want) {
		t.Errorf("subscribed %v, want %v", got, want)
	}

	// A failed commit leads to a new connection, which subscribes again.
	msg := &fakeMessage{topic: "a/x", payload: []byte("1")}
	o.DefaultPublishHandler(nil, msg)
	second := <-clients
	if got := <-second.subscribed; !equalFilters(got, want) {
		t.Errorf("resubscribed %v, want %v", got, want)
	}
	first.mu.Lock()
	if !first.disconnect {
		t.Error("the old client was not disconnected")
	}
	first.mu.Unlock()
	if msg.acks.Load() != 0 {
		t.Error("a message whose commit failed was acked")
	}
	// The broker redelivers it on the new connection.
	second.opts.DefaultPublishHandler(nil, msg)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if msg.acks.Load() != 1 {
		t.Errorf("redelivered message acked %d times, want 1", msg.acks.Load())
	}
	if st := s.Stats(); st.Reconnects != 1 || st.Committed != 1 {
		t.Errorf("stats %+v, want 1 reconnect and 1 committed", st)
	}
	if err := s.Run(t.Context()); !errors.Is(err, ErrRunning) {
		t.Errorf("second Run() = %v, want ErrRunning", err)
	}
}

func equalFilters(a, b map[string]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestNewRejectsBadOptions(t *testing.T) {
	good := Subscription{Topic: "a", Meter: "a", Format: FormatNumber}
	tests := []struct {
		name string
		opts Options
	}{
		{"no broker", Options{ClientID: "c", Subscriptions: []Subscription{good}}},
		{"http broker", Options{Broker: "http://h", ClientID: "c", Subscriptions: []Subscription{good}}},
		{"no client id", Options{Broker: "tcp://h", Subscriptions: []Subscription{good}}},
		{"no subscriptions", Options{Broker: "tcp://h", ClientID: "c"}},
		{"tls on tcp", Options{Broker: "tcp://h", ClientID: "c", Subscriptions: []Subscription{good}, TLS: TLSOptions{InsecureSkipVerify: true}}},
		{"missing ca file", Options{Broker: "ssl://h", ClientID: "c", Subscriptions: []Subscription{good}, TLS: TLSOptions{CAFile: "/nonexistent/ca.pem"}}},
		{"cert without key", Options{Broker: "mqtts://h", ClientID: "c", Subscriptions: []Subscription{good}, TLS: TLSOptions{CertFile: "c.pem"}}},
		{"max inflight", Options{Broker: "tcp://h", ClientID: "c", Subscriptions: []Subscription{good}, MaxInflight: -1}},
		{"bad filter", Options{Broker: "tcp://h", ClientID: "c", Subscriptions: []Subscription{{Topic: "a/#/b", Meter: "a", Format: FormatNumber}}}},
		{"partial wildcard", Options{Broker: "tcp://h", ClientID: "c", Subscriptions: []Subscription{{Topic: "a/b+", Meter: "a", Format: FormatNumber}}}},
		{"no meter", Options{Broker: "tcp://h", ClientID: "c", Subscriptions: []Subscription{{Topic: "a", Format: FormatNumber}}}},
		{"both meters", Options{Broker: "tcp://h", ClientID: "c", Subscriptions: []Subscription{{Topic: "a", Meter: "a", MeterFromTopic: "{meter}", Format: FormatNumber}}}},
		{"template without placeholder", Options{Broker: "tcp://h", ClientID: "c", Subscriptions: []Subscription{{MeterFromTopic: "a/b", Format: FormatNumber}}}},
		{"placeholder inside level", Options{Broker: "tcp://h", ClientID: "c", Subscriptions: []Subscription{{MeterFromTopic: "a/x{meter}", Format: FormatNumber}}}},
		{"bad format", Options{Broker: "tcp://h", ClientID: "c", Subscriptions: []Subscription{{Topic: "a", Meter: "a", Format: "xml"}}}},
	}
	for _, tt := range tests {
		if _, err := New(tt.opts, &recorder{}); err == nil {
			t.Errorf("%s: New() = nil error", tt.name)
		}
	}
	if _, err := New(testOptions(good), nil); err == nil {
		t.Error("New with nil committer: no error")
	}
}

func TestOptionsLogValueHidesPassword(t *testing.T) {
	o := Options{Broker: "tcp://user:urlsecret@h:1883", ClientID: "c", Username: "u", Password: "optsecret"}
	s := o.LogValue().String()
	for _, secret := range []string{"urlsecret", "optsecret"} {
		if strings.Contains(s, secret) {
			t.Errorf("LogValue() = %s, leaks %q", s, secret)
		}
	}
}

func TestMatchTopic(t *testing.T) {
	tests := []struct {
		filter, topic string
		want          bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/c", false},
		{"a/+", "a/b", true},
		{"a/+", "a/b/c", false},
		{"a/+", "a", false},
		{"a/+", "a/", true},
		{"+/b", "a/b", true},
		{"a/#", "a", true},
		{"a/#", "a/b/c", true},
		{"#", "a/b", true},
		{"#", "$SYS/uptime", false},
		{"+/uptime", "$SYS/uptime", false},
		{"$SYS/#", "$SYS/uptime", true},
		{"a/b", "a/b/c", false},
		{"a/b/c", "a/b", false},
		{"tele/+/SENSOR", "tele/hichi/SENSOR", true},
	}
	for _, tt := range tests {
		if got := matchTopic(tt.filter, tt.topic); got != tt.want {
			t.Errorf("matchTopic(%q, %q) = %v, want %v", tt.filter, tt.topic, got, tt.want)
		}
	}
}

// FuzzHandle feeds arbitrary messages through the handler: nothing panics,
// every message is acknowledged once, and each one that yields no reading
// is dead-lettered with a reason or counted as ignored.
func FuzzHandle(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join("..", "..", "testdata", "mqtt"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "mqtt", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add("meter/x", b, false)
	}
	f.Add("meter/x/extra", []byte("1"), false)
	f.Add("meter/x", []byte("1"), true)
	f.Add("other", []byte(""), false)
	opts := testOptions(
		Subscription{MeterFromTopic: "meter/{meter}", Format: FormatNumber},
		Subscription{Topic: "meter/#", Meter: "j", Format: FormatJSON, Field: "v", TimeField: "t"},
		Subscription{Topic: "meter/#", Meter: "w", Format: FormatWMBusMeters, Field: "total_m3"},
		Subscription{Topic: "meter/#", Meter: "a", Format: FormatAIOnTheEdge},
		Subscription{Topic: "meter/#", Meter: "t", Format: FormatTasmota, Field: "SML.Total_in"},
		Subscription{Topic: "meter/+", Meter: "s", Format: FormatStatestream},
	)
	f.Fuzz(func(t *testing.T, topic string, payload []byte, retained bool) {
		rec := &recorder{}
		s := mustNew(t, opts, rec)
		stop := startHandlers(t, s)
		msg := &fakeMessage{topic: topic, payload: payload, retained: retained}
		s.onMessage(nil, msg)
		stop()
		got, dead := rec.snapshot()
		if msg.acks.Load() != 1 {
			t.Fatalf("acks = %d, want 1", msg.acks.Load())
		}
		for _, d := range dead {
			if d.reason == "" {
				t.Errorf("dead letter without reason: %+v", d)
			}
		}
		if len(got) == 0 && len(dead) == 0 && s.Stats().Ignored != 1 {
			t.Errorf("message %q on %q neither committed, dead-lettered nor counted as ignored", payload, topic)
		}
	})
}
