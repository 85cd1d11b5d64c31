package mqtt

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"time"
)

// Defaults used for zero Options fields.
const (
	DefaultMaxInflight          = 1000
	DefaultConnectTimeout       = 10 * time.Second
	DefaultKeepAlive            = 30 * time.Second
	DefaultMaxReconnectInterval = 30 * time.Second
	DefaultCommitTimeout        = 30 * time.Second
)

// Subscription maps a topic filter to a meter and says how to decode it.
// Several subscriptions may share a topic (Tasmota's Total_in and Total_out
// are two meters in one SENSOR message); each one that matches a message
// yields one reading.
type Subscription struct {
	// Topic is the filter to subscribe to; '+' and '#' are MQTT wildcards.
	// It may be empty when MeterFromTopic is set: then it is the template
	// with its {meter} level replaced by '+'.
	Topic string
	// Meter is the fixed meter id of every reading from Topic. Exactly one
	// of Meter and MeterFromTopic is set.
	Meter string
	// MeterFromTopic takes the meter id from the topic: it is a topic
	// filter in which one whole level is "{meter}", e.g.
	// "wmbusmeters/{meter}" or "homeassistant/sensor/{meter}/state".
	MeterFromTopic string

	Format    Format
	Field     string         // see Spec.Field
	TimeField string         // see Spec.TimeField
	Scale     float64        // see Spec.Scale
	Location  *time.Location // see Spec.Location; nil means Options.Location
}

// TLSOptions configures TLS for ssl://, tls:// and mqtts:// brokers.
type TLSOptions struct {
	CAFile             string // PEM CA bundle; empty means the system roots
	CertFile, KeyFile  string // PEM client certificate and key, both or neither
	ServerName         string // overrides the host name checked in the certificate
	InsecureSkipVerify bool   // accept any server certificate (testing only)
}

func (t TLSOptions) isSet() bool {
	return t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.ServerName != "" || t.InsecureSkipVerify
}

// Options configures a Subscriber.
type Options struct {
	// Broker is the broker URL: tcp:// or mqtt:// (port 1883 by default), or
	// ssl://, tls:// or mqtts:// (port 8883 by default).
	Broker string
	// ClientID identifies the persistent session on the broker. It must be
	// fixed: a new id starts an empty session and loses what was queued.
	ClientID string
	Username string
	Password string // never logged
	TLS      TLSOptions

	Subscriptions []Subscription

	// MaxInflight bounds the messages received but not yet acknowledged
	// (and so the readings in one commit). Further messages wait in paho's
	// handler goroutines, bounded in turn by the broker's in-flight window.
	MaxInflight int
	// ConnectTimeout bounds one connection attempt and the SUBSCRIBE that
	// follows it.
	ConnectTimeout time.Duration
	// KeepAlive is the MQTT keep-alive interval.
	KeepAlive time.Duration
	// MaxReconnectInterval caps the wait between reconnection attempts and
	// between forced reconnections after failed commits.
	MaxReconnectInterval time.Duration
	// CommitTimeout bounds one Commit or DeadLetter call.
	CommitTimeout time.Duration

	// Location is the zone of payload timestamps without an offset for
	// subscriptions without their own; nil means UTC.
	Location *time.Location
	// Logger receives connection events and failures; nil discards them.
	Logger *slog.Logger
	// Now is the clock for arrival times; nil means time.Now.
	Now func() time.Time
}

// LogValue keeps the password out of logs when Options is logged whole.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("broker", redactURL(o.Broker)),
		slog.String("client_id", o.ClientID),
		slog.String("username", o.Username),
		slog.Int("subscriptions", len(o.Subscriptions)),
	)
}

func (o *Options) setDefaults() {
	if o.MaxInflight == 0 {
		o.MaxInflight = DefaultMaxInflight
	}
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.KeepAlive == 0 {
		o.KeepAlive = DefaultKeepAlive
	}
	if o.MaxReconnectInterval == 0 {
		o.MaxReconnectInterval = DefaultMaxReconnectInterval
	}
	if o.CommitTimeout == 0 {
		o.CommitTimeout = DefaultCommitTimeout
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// brokerURL checks the broker URL and fills in the default port.
func brokerURL(s string) (*url.URL, bool, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, false, fmt.Errorf("broker: %w", err)
	}
	var port string
	var secure bool
	switch u.Scheme {
	case "tcp", "mqtt":
		port = "1883"
	case "ssl", "tls", "mqtts":
		port, secure = "8883", true
	default:
		return nil, false, fmt.Errorf("broker %q: scheme must be tcp, mqtt, ssl, tls or mqtts: %w", redactURL(s), ErrInvalidOption)
	}
	if u.Hostname() == "" {
		return nil, false, fmt.Errorf("broker %q: no host: %w", redactURL(s), ErrInvalidOption)
	}
	if u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), port)
	}
	return u, secure, nil
}

// redactURL hides a password embedded in a broker URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func (t TLSOptions) config(host string) (*tls.Config, error) {
	c := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         host,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // opt-in, documented as testing only
	}
	if t.ServerName != "" {
		c.ServerName = t.ServerName
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls ca file: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls ca file %s: no PEM certificate: %w", t.CAFile, ErrInvalidOption)
		}
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, fmt.Errorf("tls: cert file and key file go together: %w", ErrInvalidOption)
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// subscription is a checked Subscription.
type subscription struct {
	filter  string
	meter   string
	tpl     *meterTemplate
	decoder *Decoder
}

func compileSubscription(s Subscription, loc *time.Location) (subscription, error) {
	var c subscription
	switch {
	case s.Meter == "" && s.MeterFromTopic == "":
		return c, fmt.Errorf("meter or meter from topic required: %w", ErrInvalidOption)
	case s.Meter != "" && s.MeterFromTopic != "":
		return c, fmt.Errorf("meter %q and meter from topic %q exclude each other: %w", s.Meter, s.MeterFromTopic, ErrInvalidOption)
	case s.Meter != "":
		c.meter = s.Meter
	default:
		tpl, err := parseMeterTemplate(s.MeterFromTopic)
		if err != nil {
			return c, fmt.Errorf("meter from topic: %w", err)
		}
		c.tpl = &tpl
	}
	c.filter = s.Topic
	if c.filter == "" && c.tpl != nil {
		c.filter = c.tpl.filter()
	}
	if err := validateFilter(c.filter); err != nil {
		return c, fmt.Errorf("topic: %w", err)
	}
	if s.Location != nil {
		loc = s.Location
	}
	d, err := NewDecoder(Spec{Format: s.Format, Field: s.Field, TimeField: s.TimeField, Scale: s.Scale, Location: loc})
	if err != nil {
		return c, err
	}
	c.decoder = d
	return c, nil
}
