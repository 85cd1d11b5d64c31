package mqtt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/meteragent/meteragent/processing"
)

// Committer stores what the subscriber receives. The subscriber calls it
// from one goroutine at a time for Commit and concurrently for DeadLetter.
type Committer interface {
	// Commit must make rs durable before it returns nil: the messages they
	// came from are acknowledged to the broker right after, and the broker
	// forgets them.
	Commit(ctx context.Context, rs []processing.MeterReading) error
	// DeadLetter durably records a payload that can never become a reading,
	// with the reason, before the message is acknowledged.
	DeadLetter(ctx context.Context, topic string, payload []byte, received time.Time, reason string) error
}

// Stats counts what a Subscriber did since New.
type Stats struct {
	Received     uint64 // messages delivered by the broker (redeliveries count again)
	Committed    uint64 // readings durably committed
	Acked        uint64 // messages acknowledged to the broker
	DeadLettered uint64 // messages recorded as dead letters
	Ignored      uint64 // messages acknowledged without a reading: no matching subscription, or retained without a payload time
	CommitErrors uint64 // failed Commit or DeadLetter calls (their messages stay unacknowledged)
	Reconnects   uint64 // reconnections forced so the broker redelivers unacknowledged messages
}

// ErrRunning is returned by Run when the Subscriber is already running or has run.
var ErrRunning = errors.New("subscriber already ran")

// Reasons recorded for messages that are acknowledged without a reading.
const (
	ignoredNoSubscription = "no subscription matches the topic"
	ignoredRetainedNoTime = "retained message without a payload time"
)

// client is the part of paho's client the Subscriber uses, so tests can
// substitute a fake.
type client interface {
	Connect() paho.Token
	Disconnect(quiesce uint)
	SubscribeMultiple(filters map[string]byte, callback paho.MessageHandler) paho.Token
}

type clientFactory func(*paho.ClientOptions) client

func newPahoClient(o *paho.ClientOptions) client { return paho.NewClient(o) }

// Subscriber receives meter readings over MQTT with at-least-once delivery:
// a persistent session (fixed client id, clean session off) at QoS 1, and
// every message acknowledged only after its readings (or its dead letter)
// are committed. A message whose commit fails stays unacknowledged; the
// subscriber then reconnects, with backoff, so the broker redelivers it.
// Readings may therefore arrive twice, never not at all; the store is
// expected to be idempotent per meter and time.
//
// Messages that arrive together are committed together (group commit), so
// one fsync serves many readings.
type Subscriber struct {
	opts      Options
	log       *slog.Logger
	committer Committer
	subs      []subscription
	filters   map[string]byte
	broker    string      // checked URL with port, credentials included
	tls       *tls.Config // nil for tcp:// and mqtt://
	newClient clientFactory

	sem   chan struct{} // one token per message held unacknowledged
	queue chan item     // decoded messages waiting for the batcher
	kick  chan struct{} // a commit failed: reconnect to get redelivery

	mu       sync.Mutex
	closed   bool
	closing  chan struct{}
	handlers sync.WaitGroup // message handlers past the closed check
	base     context.Context
	gen      atomic.Uint64 // connection generation; failures of older ones need no reconnect
	failures atomic.Int32  // consecutive store failures, for backoff
	started  atomic.Bool

	received, committed, acked, deadLettered, ignored, commitErrors, reconnects atomic.Uint64

	storeLog, connLog logLimiter
}

type item struct {
	msg paho.Message
	rs  []processing.MeterReading
	gen uint64
}

// New checks opts and returns a Subscriber that stores into c. It does not
// connect; Run does.
func New(opts Options, c Committer) (*Subscriber, error) {
	if c == nil {
		return nil, fmt.Errorf("committer: %w", ErrInvalidOption)
	}
	opts.setDefaults()
	var errs []error
	u, secure, err := brokerURL(opts.Broker)
	if err != nil {
		errs = append(errs, err)
	}
	if opts.ClientID == "" {
		errs = append(errs, fmt.Errorf("client id: required for a persistent session: %w", ErrInvalidOption))
	}
	if opts.MaxInflight < 1 || opts.MaxInflight > 65535 {
		errs = append(errs, fmt.Errorf("max inflight %d: must be 1..65535: %w", opts.MaxInflight, ErrInvalidOption))
	}
	if opts.ConnectTimeout < 0 || opts.KeepAlive < 0 || opts.MaxReconnectInterval < 0 || opts.CommitTimeout < 0 {
		errs = append(errs, fmt.Errorf("timeouts and intervals must not be negative: %w", ErrInvalidOption))
	}
	if len(opts.Subscriptions) == 0 {
		errs = append(errs, fmt.Errorf("subscriptions: none: %w", ErrInvalidOption))
	}
	s := &Subscriber{
		opts:      opts,
		log:       opts.Logger.With("component", "mqtt"),
		committer: c,
		filters:   map[string]byte{},
		newClient: newPahoClient,
		closing:   make(chan struct{}),
		kick:      make(chan struct{}, 1),
	}
	for i, sub := range opts.Subscriptions {
		cs, err := compileSubscription(sub, opts.Location)
		if err != nil {
			errs = append(errs, fmt.Errorf("subscriptions[%d]: %w", i, err))
			continue
		}
		s.subs = append(s.subs, cs)
		s.filters[cs.filter] = 1
	}
	if secure || opts.TLS.isSet() {
		if !secure {
			errs = append(errs, fmt.Errorf("tls options need an ssl://, tls:// or mqtts:// broker: %w", ErrInvalidOption))
		} else if s.tls, err = opts.TLS.config(u.Hostname()); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s.broker = u.String()
	s.sem = make(chan struct{}, opts.MaxInflight)
	s.queue = make(chan item, opts.MaxInflight)
	return s, nil
}

// clientOptions builds paho's options for one client of connection
// generation gen.
func (s *Subscriber) clientOptions(gen uint64, c *client) *paho.ClientOptions {
	o := paho.NewClientOptions().
		AddBroker(s.broker).
		SetClientID(s.opts.ClientID).
		SetUsername(s.opts.Username).
		SetPassword(s.opts.Password).
		SetCleanSession(false).
		SetAutoAckDisabled(true).
		// Handlers hand messages to the batcher and return; acks come
		// from the batcher, so order across messages is not needed, and
		// a stalled commit never blocks paho's reader (or its pings).
		SetOrderMatters(false).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(s.opts.MaxReconnectInterval).
		SetConnectTimeout(s.opts.ConnectTimeout).
		SetWriteTimeout(s.opts.ConnectTimeout).
		SetKeepAlive(s.opts.KeepAlive).
		SetPingTimeout(s.opts.ConnectTimeout).
		// One handler for every message, set before Connect so messages
		// the broker queued for the session are handled before
		// SUBSCRIBE; routes per filter would run twice for a topic that
		// matches two filters.
		SetDefaultPublishHandler(s.onMessage).
		SetOnConnectHandler(func(paho.Client) { s.subscribe(*c, gen) }).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			s.log.Warn("connection lost", "broker", redactURL(s.opts.Broker), "error", err)
		}).
		SetConnectionNotificationHandler(func(_ paho.Client, n paho.ConnectionNotification) {
			if f, ok := n.(paho.ConnectionNotificationFailed); ok && s.connLog.allow(time.Now()) {
				s.log.Warn("connect failed, retrying", "broker", redactURL(s.opts.Broker), "error", f.Reason)
			}
		})
	if s.tls != nil {
		o.SetTLSConfig(s.tls)
	}
	return o
}

// Stats returns the counters.
func (s *Subscriber) Stats() Stats {
	return Stats{
		Received:     s.received.Load(),
		Committed:    s.committed.Load(),
		Acked:        s.acked.Load(),
		DeadLettered: s.deadLettered.Load(),
		Ignored:      s.ignored.Load(),
		CommitErrors: s.commitErrors.Load(),
		Reconnects:   s.reconnects.Load(),
	}
}

// Run connects, keeps the session alive and stores what arrives until ctx is
// done. It then stops taking messages, commits and acknowledges those
// already received, disconnects and returns nil. Messages it did not take
// stay with the broker for the next run. Run can be called once.
func (s *Subscriber) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return ErrRunning
	}
	s.base = context.WithoutCancel(ctx)
	var batcher sync.WaitGroup
	batcher.Go(s.batchLoop)

	c := s.connect()
	for {
		select {
		case <-ctx.Done():
			s.shutdown()
			batcher.Wait()
			// The quiesce lets the last acknowledgements reach the broker.
			c.Disconnect(500)
			s.log.Info("disconnected", "broker", redactURL(s.opts.Broker))
			return nil
		case <-s.kick:
			wait := s.backoff()
			s.log.Warn("reconnecting so the broker redelivers unacknowledged messages", "in", wait)
			select {
			case <-ctx.Done():
				continue
			case <-time.After(wait):
			}
			c.Disconnect(250)
			s.reconnects.Add(1)
			c = s.connect()
		}
	}
}

// backoff is the wait before a forced reconnect: 1 s doubling with every
// consecutive store failure, capped at MaxReconnectInterval.
func (s *Subscriber) backoff() time.Duration {
	n := min(max(s.failures.Load()-1, 0), 16)
	return min(time.Second<<n, s.opts.MaxReconnectInterval)
}

// connect starts a new client. With connect-retry on, its Connect token
// completes only once connected, so it is not waited for; OnConnect
// subscribes on this and every later (re)connection.
func (s *Subscriber) connect() client {
	var c client
	c = s.newClient(s.clientOptions(s.gen.Add(1), &c))
	c.Connect()
	return c
}

// subscribe (re)subscribes every filter at QoS 1. A persistent session
// keeps subscriptions across reconnects, but a broker that lost its state
// (restarted without persistence) does not, so it is done every time.
func (s *Subscriber) subscribe(c client, gen uint64) {
	s.log.Info("connected", "broker", redactURL(s.opts.Broker), "client_id", s.opts.ClientID)
	tok := c.SubscribeMultiple(s.filters, nil)
	if !tok.WaitTimeout(s.opts.ConnectTimeout) || tok.Error() != nil {
		s.log.Warn("subscribe failed, reconnecting", "error", tok.Error())
		s.requestReconnect(gen)
		return
	}
	var refused []string
	if st, ok := tok.(*paho.SubscribeToken); ok {
		for f, code := range st.Result() {
			if code == 0x80 {
				refused = append(refused, f)
			}
		}
	}
	if len(refused) > 0 {
		s.log.Error("broker refused subscriptions (check its ACL)", "topics", refused)
		return
	}
	s.log.Info("subscribed", "topics", len(s.filters))
}

// onMessage is paho's handler, run on its own goroutine per message.
func (s *Subscriber) onMessage(_ paho.Client, m paho.Message) {
	s.mu.Lock()
	if s.closed {
		// Not acknowledged: the broker keeps it for the next session.
		s.mu.Unlock()
		return
	}
	s.handlers.Add(1)
	s.mu.Unlock()
	defer s.handlers.Done()

	select {
	case s.sem <- struct{}{}:
	case <-s.closing:
		return
	}
	gen := s.gen.Load()
	received := s.opts.Now()
	s.received.Add(1)

	rs, reasons, ignored := s.decode(m.Topic(), m.Payload(), m.Retained(), received)
	if len(reasons) > 0 {
		reason := strings.Join(reasons, "; ")
		ctx, cancel := context.WithTimeout(s.base, s.opts.CommitTimeout)
		err := s.committer.DeadLetter(ctx, m.Topic(), m.Payload(), received, reason)
		cancel()
		if err != nil {
			<-s.sem
			s.storeFailed(fmt.Errorf("dead letter: %w", err), gen)
			return
		}
		s.deadLettered.Add(1)
		s.log.Debug("dead letter", "topic", m.Topic(), "reason", reason)
	}
	if len(rs) == 0 {
		if ignored != "" && len(reasons) == 0 {
			s.ignored.Add(1)
			s.log.Debug("message ignored", "topic", m.Topic(), "reason", ignored)
		}
		m.Ack()
		s.acked.Add(1)
		<-s.sem
		return
	}
	// Never blocks: the queue holds as many items as there are tokens.
	s.queue <- item{msg: m, rs: rs, gen: gen}
}

// decode applies every subscription whose filter matches topic. It returns
// the readings, the reasons of those that failed, and why a message without
// readings or failures was ignored.
func (s *Subscriber) decode(topic string, payload []byte, retained bool, received time.Time) (rs []processing.MeterReading, reasons []string, ignored string) {
	ignored = ignoredNoSubscription
	for _, sub := range s.subs {
		if !matchTopic(sub.filter, topic) {
			continue
		}
		meter := sub.meter
		if sub.tpl != nil {
			var err error
			if meter, err = sub.tpl.meter(topic); err != nil {
				reasons = append(reasons, err.Error())
				continue
			}
		}
		r, err := sub.decoder.decode(payload, received)
		if err != nil {
			reasons = append(reasons, fmt.Sprintf("meter %s (%s): %v", meter, sub.decoder.format, err))
			continue
		}
		if retained && !r.stamped {
			// A retained value replayed on (re)subscribe was measured at
			// some unknown earlier time; stamping it "now" would invent a
			// reading.
			ignored = ignoredRetainedNoTime
			continue
		}
		rs = append(rs, processing.MeterReading{Meter: meter, Time: r.t, Value: r.v})
	}
	return rs, reasons, ignored
}

// batchLoop commits what is queued, as one batch, until the queue closes.
func (s *Subscriber) batchLoop() {
	var batch []item
	for it := range s.queue {
		batch = append(batch[:0], it)
	gather:
		for {
			select {
			case it, ok := <-s.queue:
				if !ok {
					break gather
				}
				batch = append(batch, it)
			default:
				break gather
			}
		}
		s.commit(batch)
	}
}

func (s *Subscriber) commit(batch []item) {
	defer func() {
		for range batch {
			<-s.sem
		}
	}()
	var rs []processing.MeterReading
	for _, it := range batch {
		rs = append(rs, it.rs...)
	}
	ctx, cancel := context.WithTimeout(s.base, s.opts.CommitTimeout)
	err := s.committer.Commit(ctx, rs)
	cancel()
	if err != nil {
		gen := uint64(0)
		for _, it := range batch {
			gen = max(gen, it.gen)
		}
		s.storeFailed(fmt.Errorf("commit %d readings: %w", len(rs), err), gen)
		return
	}
	s.failures.Store(0)
	s.committed.Add(uint64(len(rs)))
	for _, it := range batch {
		it.msg.Ack()
	}
	s.acked.Add(uint64(len(batch)))
}

// storeFailed leaves the messages unacknowledged and asks Run to reconnect,
// because a broker redelivers unacknowledged messages only on a new
// connection. Failures on an older connection need none: that reconnect
// already happened.
func (s *Subscriber) storeFailed(err error, gen uint64) {
	s.commitErrors.Add(1)
	s.failures.Add(1)
	if s.storeLog.allow(time.Now()) {
		s.log.Error("store failed, messages stay unacknowledged for redelivery", "error", err,
			"failures", s.commitErrors.Load())
	}
	s.requestReconnect(gen)
}

func (s *Subscriber) requestReconnect(gen uint64) {
	if gen != s.gen.Load() {
		return
	}
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// shutdown stops taking messages, waits for the handlers that already took
// one, then lets the batcher drain the queue and exit.
func (s *Subscriber) shutdown() {
	s.mu.Lock()
	s.closed = true
	close(s.closing)
	s.mu.Unlock()
	s.handlers.Wait()
	close(s.queue)
}

// logLimiter lets one log line through per interval, so a store that keeps
// failing does not flood the journal.
type logLimiter struct {
	mu   sync.Mutex
	last time.Time
}

const logInterval = 10 * time.Second

func (l *logLimiter) allow(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < logInterval {
		return false
	}
	l.last = now
	return true
}
