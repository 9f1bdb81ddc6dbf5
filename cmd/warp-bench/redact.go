package main

import (
	"io"
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// redacted replaces a secret wherever warp-bench prints one.
const redacted = "xxxxx"

// natsScheme reports whether a URL scheme is a NATS one, where a user
// name without a password is a token (nats://TOKEN@host).
func natsScheme(scheme string) bool {
	switch strings.ToLower(scheme) {
	case "nats", "tls", "ws", "wss":
		return true
	}
	return false
}

// redactURL returns s with the password of its user info replaced (and,
// in a NATS URL, a token given as the user name alone); key=value DSNs
// (host=… password=…) go through redactDSN.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil && userInfo.MatchString(s) { // a malformed URL: hide its user info whole
		return userInfo.ReplaceAllString(s, "${1}"+redacted+"@")
	}
	if err != nil || u.Scheme == "" {
		return redactDSN(s)
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), redacted)
		} else if natsScheme(u.Scheme) {
			u.User = url.User(redacted)
		}
	}
	if q := u.Query(); q.Has("password") || q.Has("token") {
		for _, k := range []string{"password", "token"} {
			if q.Has(k) {
				q.Set(k, redacted)
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// userInfo matches the user info of a URL, even one url.Parse rejects.
var userInfo = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*://)([^@/?#]*)@`)

// dsnPassword matches the password of a key=value DSN, quoted or not.
var dsnPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// redactDSN hides the password of a key=value DSN.
func redactDSN(s string) string {
	return dsnPassword.ReplaceAllString(s, "${1}"+redacted)
}

// secretsOf returns the secrets inside a PostgreSQL URL or DSN: the
// password (or a password or token query parameter). A NATS URL's are
// natsbus's to find (natsAuth.secrets).
func secretsOf(s string) []string {
	var out []string
	if m := userInfo.FindStringSubmatch(s); m != nil { // whatever url.Parse makes of it
		if _, pw, ok := strings.Cut(m[2], ":"); ok {
			out = append(out, pw)
		}
	}
	if u, err := url.Parse(s); err == nil && u.Scheme != "" {
		if u.User != nil {
			if p, ok := u.User.Password(); ok {
				out = append(out, p)
			}
		}
		q := u.Query()
		out = append(out, q.Get("password"), q.Get("token"))
		return out
	}
	for _, m := range dsnPassword.FindAllStringSubmatch(s, -1) {
		out = append(out, strings.Trim(m[2], "'"))
	}
	return out
}

// scrubber removes known secrets from text on its way out: every error,
// log line and report goes through it, so a secret that a library put in
// an error message is not printed either.
type scrubber struct {
	mu      sync.Mutex // guards r
	secrets []string
	r       *strings.Replacer
}

// add registers secrets; empty and very short ones are ignored (a
// one-character password would turn every such letter into xxxxx).
func (s *scrubber) add(secrets ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range secrets {
		if len(v) >= 3 {
			s.secrets = append(s.secrets, v)
			// The URL-escaped form appears in printed URLs.
			if e := url.QueryEscape(v); e != v {
				s.secrets = append(s.secrets, e)
			}
			if e := url.PathEscape(v); e != v {
				s.secrets = append(s.secrets, e)
			}
		}
	}
	pairs := make([]string, 0, 2*len(s.secrets))
	for _, v := range s.secrets {
		pairs = append(pairs, v, redacted)
	}
	s.r = strings.NewReplacer(pairs...)
}

// clean returns text without the registered secrets.
func (s *scrubber) clean(text string) string {
	s.mu.Lock()
	r := s.r
	s.mu.Unlock()
	if r == nil {
		return text
	}
	return r.Replace(text)
}

// writer returns w behind the scrubber. Each Write is cleaned whole, so
// a secret split across two Writes would pass; every line warp-bench
// prints is one Write.
func (s *scrubber) writer(w io.Writer) io.Writer { return scrubWriter{s, w} }

type scrubWriter struct {
	s *scrubber
	w io.Writer
}

func (sw scrubWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(sw.w, sw.s.clean(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// scrubbedError is an error whose message went through the scrubber; it
// still unwraps to the original.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

func (s *scrubber) error(err error) error {
	if err == nil {
		return nil
	}
	return &scrubbedError{msg: s.clean(err.Error()), err: err}
}
