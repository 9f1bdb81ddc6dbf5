package natsbus

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/warpcache/warp/bus"
)

// Options configures a [Transport]. The zero value gives the documented
// defaults.
type Options struct {
	// SubjectPrefix is the first subject token; default "warp".
	SubjectPrefix string
	// Name is the connection name the server shows; default
	// "warp-<node>". Used by Dial only.
	Name string
	// ReconnectWait is the pause between reconnect attempts; default
	// 100ms (nats.go's own default is 2s, too long for a cache whose
	// strong keys are off while disconnected). Dial only.
	ReconnectWait time.Duration
	// MaxReconnects is how many reconnect attempts are made before giving
	// up; default -1, for ever. Dial only.
	MaxReconnects int
	// ReconnectBufSize is how many bytes of outgoing messages are
	// buffered while reconnecting; default 8 MiB, -1 disables buffering
	// (publishes then fail and are reported on the bus's error channel).
	// Dial only.
	ReconnectBufSize int
	// PingInterval and MaxPingsOutstanding bound how long a dead
	// connection goes unnoticed: about PingInterval×MaxPingsOutstanding.
	// Defaults 2s and 2. Dial only.
	PingInterval        time.Duration
	MaxPingsOutstanding int
	// Timeout bounds the initial connect and each write to the server: a
	// server that stops reading for that long is treated as a lost
	// connection (dropped, then reconnected). Default 2s. Dial only.
	Timeout time.Duration
	// PendingMsgs and PendingBytes bound each subscription's queue of
	// undelivered messages; over it, messages are dropped and the
	// transport reports bus.Dropped, so the bus repairs (with a flush).
	// Defaults 65536 and 64 MiB.
	PendingMsgs  int
	PendingBytes int

	// InProcess, if set, makes Dial reach a NATS server that runs inside
	// this process through an in-memory pipe (net.Pipe) instead of a
	// socket: no loopback TCP, and no wait for the network poller at
	// either end, which is most of an invalidation's lag when the server
	// shares the process (docs/performance.md, "Invalidation lag"). A
	// [*Server] from [StartEmbedded] is one; so is nats-server's own
	// *server.Server. Every reconnect asks it for a new pipe, so a
	// [Server.Restart] is followed. The URL still names the server (it is
	// what nats.go and the logs show), but every connection, to any
	// server of the URL's list or any the server tells of, goes through
	// the provider: there is no failing over to another server. TLS
	// settings and a tls:// URL are refused with it: the pipe never
	// leaves the process.
	//
	// A pipe does not buffer: each write waits until the server reads it,
	// for at most Timeout, after which the connection counts as broken and
	// reconnects. Authentication still applies, but a refused credential
	// usually deadlocks the connect handshake (each side waits to write)
	// until a write's Timeout runs out, once or twice (a dial with a
	// Timeout of 300ms fails in about 0.6s in TestInProcess), and the
	// error is an i/o timeout or a closed pipe, not the
	// server's "Authorization Violation"; so nats.go, which stops
	// reconnecting after two authorization errors over TCP, keeps trying
	// over a pipe, every ReconnectWait, each attempt holding the
	// connection for Timeout. Dial only.
	InProcess nats.InProcessConnProvider

	// InboxPrefix replaces "_INBOX" as the prefix of the connection's
	// reply subjects (JetStream API replies, for a lock or lease manager
	// sharing the connection), so that permissions can keep other users
	// of a shared account from reading or answering them; see
	// docs/security.md. Dial only.
	InboxPrefix string

	// Logger receives the connection's events (disconnects, reconnects,
	// asynchronous errors such as a permissions violation or a slow
	// consumer), with every credential redacted; nil discards them. Dial
	// only.
	Logger *slog.Logger

	// Credentials, Dial only; at most one kind may be set (a URL's
	// user:password@ or token@ counts as one). See docs/security.md.
	//
	// User and Password authenticate with a user name and password.
	User, Password string
	// Token authenticates with a token.
	Token string
	// NKeySeedFile is the path of a file holding a user nkey seed
	// (SU...); the seed signs the server's challenge and never leaves
	// the process.
	NKeySeedFile string
	// CredsFile is the path of a .creds file (a user JWT and its nkey
	// seed), for servers in operator (decentralized JWT) mode.
	CredsFile string

	// TLS, Dial only. Setting any of these turns TLS on.
	//
	// CAFile is a PEM file of the CAs that sign the server's certificate;
	// default the system's roots.
	CAFile string
	// CertFile and KeyFile are the client's certificate and private key
	// (PEM), for servers that verify clients (tls { verify: true } or
	// verify_and_map); both or neither.
	CertFile, KeyFile string
	// TLSConfig is the base TLS configuration, for what the fields above
	// do not cover (minimum version, in-memory certificates, a server
	// name). It is cloned, never modified; CAFile, CertFile and KeyFile
	// are applied to the clone.
	TLSConfig *tls.Config
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if o.SubjectPrefix == "" {
		o.SubjectPrefix = "warp"
	}
	if o.ReconnectWait == 0 {
		o.ReconnectWait = 100 * time.Millisecond
	}
	if o.PingInterval == 0 {
		o.PingInterval = 2 * time.Second
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Second
	}
	def(&o.MaxReconnects, -1)
	def(&o.ReconnectBufSize, 8<<20)
	def(&o.MaxPingsOutstanding, 2)
	def(&o.PendingMsgs, 65536)
	def(&o.PendingBytes, 64<<20)
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

func (o Options) natsOptions() []nats.Option {
	opts := []nats.Option{
		nats.ReconnectWait(o.ReconnectWait),
		nats.MaxReconnects(o.MaxReconnects),
		nats.ReconnectBufSize(o.ReconnectBufSize),
		nats.PingInterval(o.PingInterval),
		nats.MaxPingsOutstanding(o.MaxPingsOutstanding),
		nats.Timeout(o.Timeout),
		// A server that stops reading fills the socket; a publish then
		// writes to it directly, holding the connection's lock, for up to
		// nats.go's default of a minute, and the bus actor (with every
		// strong write behind it) waits as long. Bounded, the connection
		// is dropped and reconnects, and the bus repairs what it missed.
		nats.FlusherTimeout(o.Timeout),
		nats.ReconnectJitter(o.ReconnectWait/10, o.ReconnectWait/10),
		// The server does not send a node its own broadcasts back: with
		// three nodes that is a third of every delivery's reads, writes
		// and decoding saved (the bus ignores its own envelopes anyway).
		nats.NoEcho(),
	}
	if o.Name != "" {
		opts = append(opts, nats.Name(o.Name))
	}
	if o.InboxPrefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(o.InboxPrefix))
	}
	return append(opts, o.pipeOptions()...)
}

// pipeOptions returns, with InProcess, the options that reach the server
// through its pipe. A pipe does not buffer: a write waits for the server
// to read. Timeout bounds each write (natsOptions), the handshake's
// included (a refused credential deadlocks it: see InProcess), as the
// dial's timeout bounds a TCP connect.
func (o Options) pipeOptions() []nats.Option {
	if o.InProcess == nil {
		return nil
	}
	return []nats.Option{nats.InProcessServer(o.InProcess)}
}

// checkInProcess refuses an InProcess that holds a nil pointer (nats.go
// would call through it), and TLS settings or a tls:// URL with one
// (nats.go would try TLS over the pipe). Errors wrap [bus.ErrInvalid].
func (o Options) checkInProcess(url string) error {
	if o.InProcess == nil {
		return nil
	}
	if v := reflect.ValueOf(o.InProcess); v.Kind() == reflect.Pointer && v.IsNil() {
		return fmt.Errorf("%w: natsbus: InProcess is a nil %T", bus.ErrInvalid, o.InProcess)
	}
	if o.TLSConfig != nil || o.CAFile != "" || o.CertFile != "" {
		return fmt.Errorf("%w: natsbus: InProcess with TLS settings: an in-process pipe never leaves the process", bus.ErrInvalid)
	}
	for u := range strings.SplitSeq(url, ",") {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(u)), "tls://") {
			return fmt.Errorf("%w: natsbus: InProcess with a tls:// URL: an in-process pipe never leaves the process", bus.ErrInvalid)
		}
	}
	return nil
}

// validToken reports whether s can be one subject token.
func validToken(what, s string) error {
	if s == "" || strings.ContainsAny(s, ".*> \t\r\n") {
		return fmt.Errorf("%w: natsbus: %s %q is not a subject token", bus.ErrInvalid, what, s)
	}
	return nil
}

// validSubject reports whether s is a subject without wildcards: tokens
// that validToken accepts, separated by single dots.
func validSubject(what, s string) error {
	for _, tok := range strings.Split(s, ".") {
		if validToken(what, tok) != nil {
			return fmt.Errorf("%w: natsbus: %s %q is not a subject without wildcards", bus.ErrInvalid, what, s)
		}
	}
	return nil
}
