package natsbus

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/warpcache/warp/bus"
)

// redacted replaces every credential in what natsbus reports.
const redacted = "REDACTED"

// redactor removes credentials from error messages and log lines: the user
// info of the server URLs (user names too, since a URL's lone user is a
// token), and the password and token of the options.
type redactor struct {
	secrets []string // longest first, so a secret inside another goes with it
}

func newRedactor(urls string, o Options) redactor {
	var r redactor
	add := func(s string) {
		if s != "" && !slices.Contains(r.secrets, s) {
			r.secrets = append(r.secrets, s)
		}
	}
	for _, u := range strings.Split(urls, ",") {
		start, end, ok := userInfo(u)
		if !ok {
			continue
		}
		// The user info itself, and its password, or its lone user name
		// (a token); raw and percent-decoded.
		info := u[start:end]
		_, pass, hasPass := strings.Cut(info, ":")
		for _, s := range []string{info, pass} {
			if s == pass && !hasPass {
				continue
			}
			add(s)
			if dec, err := url.PathUnescape(s); err == nil {
				add(dec)
			}
		}
	}
	add(o.Password)
	add(o.Token)
	slices.SortFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
	return r
}

// Secrets returns the credentials that [Dial] keeps out of its errors and
// log lines for url and o: the user info of every URL, its password or
// its lone user name (a token), raw and percent-decoded, and o's Password
// and Token; longest first. A caller that connects with
// [Options.Credentials] filters its own messages with them.
func (o Options) Secrets(url string) []string {
	return newRedactor(url, o).secrets // built afresh: nothing else holds it
}

// userInfo returns where a URL's user info lies: u[start:end] is what
// comes between "scheme://" (if any) and the last "@" of the authority.
// It does not parse u, so a URL that does not parse still has its
// credentials found.
func userInfo(u string) (start, end int, ok bool) {
	if i := strings.Index(u, "://"); i >= 0 {
		start = i + len("://")
	}
	auth := u[start:]
	if i := strings.IndexAny(auth, "/?#"); i >= 0 {
		auth = auth[:i]
	}
	at := strings.LastIndex(auth, "@")
	if at < 0 {
		return 0, 0, false
	}
	return start, start + at, true
}

// redactURLs returns urls (a comma-separated list) with every user info
// replaced.
func redactURLs(urls string) string {
	parts := strings.Split(urls, ",")
	for i, u := range parts {
		if start, end, ok := userInfo(u); ok {
			parts[i] = u[:start] + redacted + u[end:]
		}
	}
	return strings.Join(parts, ",")
}

// hasUserInfo reports whether any of urls carries user info.
func hasUserInfo(urls string) bool {
	for _, u := range strings.Split(urls, ",") {
		if _, _, ok := userInfo(u); ok {
			return true
		}
	}
	return false
}

// String returns s with every secret replaced.
func (r redactor) String(s string) string {
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, redacted)
	}
	return s
}

// Err returns err if its message holds no secret; otherwise an error with
// the redacted message that wraps only the sentinels err wraps of
// [keptErrors]: err's own message, and its causes', would show the secret.
func (r redactor) Err(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := r.String(msg)
	if clean == msg {
		return err
	}
	e := &redactedError{msg: clean}
	for _, s := range keptErrors {
		if errors.Is(err, s) {
			e.is = append(e.is, s)
		}
	}
	return e
}

// keptErrors are the sentinels a redacted error still wraps.
var keptErrors = []error{
	bus.ErrInvalid, bus.ErrTransport, bus.ErrClosed,
	context.Canceled, context.DeadlineExceeded,
	nats.ErrAuthorization, nats.ErrAuthExpired, nats.ErrNoServers, nats.ErrTimeout,
}

// redactedError is an error whose message had a secret taken out.
type redactedError struct {
	msg string
	is  []error
}

func (e *redactedError) Error() string   { return e.msg }
func (e *redactedError) Unwrap() []error { return e.is }
