package testbroker

import (
	"bytes"
	"crypto/tls"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// PublisherOptions are the optional settings of NewPublisher.
type PublisherOptions struct {
	// Persistent turns clean session off, so the broker keeps the
	// publisher's session and unacknowledged QoS 1 messages across a
	// reconnect.
	Persistent bool
	// TLS is the client TLS configuration for an ssl:// broker.
	TLS *tls.Config
	// Username and Password log in to a broker that refuses anonymous
	// clients.
	Username, Password string
}

// NewPublisher connects an MQTT client that stands in for a producer. It
// reconnects on its own (a test may restart the broker) and is
// disconnected when the test ends; a failed first connect fails the test.
func NewPublisher(t testing.TB, broker, clientID string, o PublisherOptions) paho.Client {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker(broker).SetClientID(clientID).SetCleanSession(!o.Persistent).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).
		SetMaxReconnectInterval(time.Second).SetUsername(o.Username).SetPassword(o.Password)
	if o.TLS != nil {
		opts.SetTLSConfig(o.TLS)
	}
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(250) })
	return c
}

// Publish publishes payload to topic with QoS 1 and waits for the broker's
// acknowledgement, failing the test when it does not come.
func Publish(t testing.TB, c paho.Client, topic, payload string) {
	t.Helper()
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers, such as a
// logger shared by the goroutines of the code under test.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p to the buffer.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what has been written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
