package natsbus

import "testing"

func TestRedactURLs(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://u:p@h:1", "nats://REDACTED@h:1"},
		{"nats://nats@h:1", "nats://REDACTED@h:1"}, // a token equal to the scheme
		{"u:p@h:1", "REDACTED@h:1"},
		{"nats://u:p@w@h:1", "nats://REDACTED@h:1"}, // an unescaped @ in the password
		{"nats://h:1/x@y", "nats://h:1/x@y"},        // an @ after the authority
		{"nats://a:b@h:1, tls://tok@h:2", "nats://REDACTED@h:1, tls://REDACTED@h:2"},
	}
	for _, tt := range tests {
		if got := redactURLs(tt.in); got != tt.want {
			t.Errorf("redactURLs(%q): got %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestRedactorSecrets(t *testing.T) {
	t.Parallel()
	r := newRedactor("nats://user:pa%2Fss@h:1,nats://tok@h:2", Options{Password: "opt-pass", Token: "opt-tok"})
	got := r.String("user:pa%2Fss pa/ss pa%2Fss tok opt-pass opt-tok user")
	want := "REDACTED REDACTED REDACTED REDACTED REDACTED REDACTED user"
	if got != want {
		t.Fatalf("got %q; want %q", got, want)
	}
}
