// Package testbroker starts MQTT brokers on loopback for tests: the
// in-process mochi broker for fast cases and a real Mosquitto process for
// integration tests (restarts with a persistent store, TLS, passwords).
//
// It is a test helper for the adapter's tests and cmd/meteragent's
// end-to-end tests (which is why it is not internal to agent); it imports
// testing and is not for production code.
//
// Mosquitto is found in PATH or /usr/sbin. When it is missing the test is
// skipped, except under CI=true, where a skipped integration test would hide
// a gap: there it fails.
package testbroker

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Mochi is an in-process broker on 127.0.0.1. It keeps sessions in memory
// only, so Restart loses them, like a broker without persistence.
type Mochi struct {
	t      testing.TB
	addr   string
	Server *mochi.Server
}

// StartMochi starts a mochi broker on a free loopback port; it is closed
// when the test ends.
func StartMochi(t testing.TB) *Mochi {
	t.Helper()
	m := &Mochi{t: t, addr: "127.0.0.1:0"}
	m.start()
	t.Cleanup(func() { _ = m.Server.Close() })
	return m
}

func (m *Mochi) start() {
	m.t.Helper()
	s := mochi.New(&mochi.Options{InlineClient: true, Logger: slog.New(slog.DiscardHandler)})
	if err := s.AddHook(new(auth.AllowHook), nil); err != nil {
		m.t.Fatal(err)
	}
	l := listeners.NewTCP(listeners.Config{ID: "t", Address: m.addr})
	if err := s.AddListener(l); err != nil {
		m.t.Fatal(err)
	}
	if err := s.Serve(); err != nil {
		m.t.Fatal(err)
	}
	m.addr = l.Address()
	m.Server = s
}

// URL is the broker's tcp:// URL.
func (m *Mochi) URL() string { return "tcp://" + m.addr }

// Restart closes the broker, dropping every connection and session, and
// starts an empty one on the same port.
func (m *Mochi) Restart() {
	m.t.Helper()
	_ = m.Server.Close()
	m.start()
}

// Inflight returns how many QoS 1/2 messages the broker holds unacknowledged
// for clientID; -1 when it has no such session.
func (m *Mochi) Inflight(clientID string) int {
	cl, ok := m.Server.Clients.Get(clientID)
	if !ok {
		return -1
	}
	return cl.State.Inflight.Len()
}

// MosquittoConfig configures a Mosquitto instance.
type MosquittoConfig struct {
	// TLS makes the listener TLS-only with a fresh CA and server
	// certificate for 127.0.0.1 and localhost.
	TLS bool
	// Users maps user names to passwords; when set, anonymous clients are
	// refused.
	Users map[string]string
	// Extra is appended to the generated mosquitto.conf.
	Extra string
}

// Mosquitto is a Mosquitto process on a free 127.0.0.1 port, with a
// persistent store in a temp dir so sessions and queued messages survive
// Stop and Start.
type Mosquitto struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	tls  bool
	cmd  *exec.Cmd
	done chan error
	// CAFile is the PEM CA that signed the server certificate (TLS only).
	CAFile string
}

// MosquittoPath returns the mosquitto binary, or "" when it is not installed.
func MosquittoPath() string {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// RequireMosquitto returns the mosquitto binary, skipping the test when it is
// missing, or failing it under CI=true.
func RequireMosquitto(t testing.TB) string {
	t.Helper()
	p := MosquittoPath()
	if p == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("mosquitto not installed (CI=true: integration tests must not skip; run `make deps`)")
		}
		t.Skip("mosquitto not installed; `make deps` installs it")
	}
	return p
}

// StartMosquitto writes a config and starts Mosquitto; it is stopped when
// the test ends, and its log is printed if the test failed.
func StartMosquitto(t testing.TB, cfg MosquittoConfig) *Mosquitto {
	t.Helper()
	m := &Mosquitto{t: t, bin: RequireMosquitto(t), dir: t.TempDir(), port: freePort(t), tls: cfg.TLS}
	var conf strings.Builder
	fmt.Fprintf(&conf, "listener %d 127.0.0.1\n", m.port)
	fmt.Fprintf(&conf, "persistence true\npersistence_location %s/\n", m.dir)
	fmt.Fprintf(&conf, "log_dest file %s\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n", m.logPath())
	// Queue without limit, so a test that publishes faster than the
	// subscriber takes loses nothing at the broker.
	conf.WriteString("max_queued_messages 0\n")
	if os.Geteuid() == 0 {
		// Otherwise mosquitto drops to user "mosquitto", which cannot
		// read the 0700 temp dir.
		conf.WriteString("user root\n")
	}
	if cfg.TLS {
		ca, cert, key := writeCerts(t, m.dir)
		m.CAFile = ca
		fmt.Fprintf(&conf, "cafile %s\ncertfile %s\nkeyfile %s\n", ca, cert, key)
	}
	if len(cfg.Users) > 0 {
		fmt.Fprintf(&conf, "allow_anonymous false\npassword_file %s\n", writePasswords(t, m.dir, cfg.Users))
	} else {
		conf.WriteString("allow_anonymous true\n")
	}
	conf.WriteString(cfg.Extra)
	if err := os.WriteFile(m.confPath(), []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	m.Start()
	t.Cleanup(func() {
		m.Stop()
		if t.Failed() {
			b, _ := os.ReadFile(m.logPath())
			t.Logf("mosquitto log:\n%s", b)
		}
	})
	return m
}

func (m *Mosquitto) confPath() string { return filepath.Join(m.dir, "mosquitto.conf") }
func (m *Mosquitto) logPath() string  { return filepath.Join(m.dir, "mosquitto.log") }

// Addr is the listener's host:port.
func (m *Mosquitto) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(m.port)) }

// URL is the broker URL: ssl:// with TLS, else tcp://.
func (m *Mosquitto) URL() string {
	if m.tls {
		return "ssl://" + m.Addr()
	}
	return "tcp://" + m.Addr()
}

// Start starts the process (again) and waits until it accepts connections.
func (m *Mosquitto) Start() {
	m.t.Helper()
	if m.cmd != nil {
		m.t.Fatal("mosquitto already running")
	}
	cmd := exec.Command(m.bin, "-c", m.confPath())
	if err := cmd.Start(); err != nil {
		m.t.Fatalf("start mosquitto: %v", err)
	}
	m.cmd, m.done = cmd, make(chan error, 1)
	go func() { m.done <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", m.Addr(), time.Second)
		if err == nil {
			_ = c.Close()
			return
		}
		select {
		case err := <-m.done:
			b, _ := os.ReadFile(m.logPath())
			m.cmd = nil
			m.t.Fatalf("mosquitto exited: %v\n%s", err, b)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("mosquitto not listening on %s: %v", m.Addr(), err)
		}
	}
}

// Stop terminates the process with SIGTERM, on which Mosquitto writes its
// persistent store, and waits for it to exit.
func (m *Mosquitto) Stop() {
	m.t.Helper()
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.done
		m.t.Error("mosquitto did not stop on SIGTERM")
	}
	m.cmd = nil
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writePasswords writes a Mosquitto password file in its own PBKDF2-SHA512
// format ("$7$", 101 iterations, 12-byte salt), as mosquitto_passwd does,
// so the tests do not depend on that tool.
func writePasswords(t testing.TB, dir string, users map[string]string) string {
	t.Helper()
	var b strings.Builder
	for user, pw := range users {
		salt := make([]byte, 12)
		_, _ = rand.Read(salt)
		h, err := pbkdf2.Key(sha512.New, pw, salt, 101, 64)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s:$7$101$%s$%s\n", user, base64.StdEncoding.EncodeToString(salt), base64.StdEncoding.EncodeToString(h))
	}
	p := filepath.Join(dir, "passwd")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeCerts creates a CA and a server certificate for 127.0.0.1 and
// localhost, valid for a day, and returns the PEM file paths.
func writeCerts(t testing.TB, dir string) (ca, cert, key string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "meteragent test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("server.pem", "CERTIFICATE", srvDER), write("server-key.pem", "EC PRIVATE KEY", keyDER)
}

// Eventually polls cond every 10 ms until it holds or ctx (or 30 s) runs
// out, then fails the test with msg.
func Eventually(ctx context.Context, t testing.TB, cond func() bool, msg string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out: "+msg, args...)
		case <-tick.C:
		}
	}
}
