package natstest_test

import (
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/warpcache/warp/internal/natstest"
)

// Conf applies the configuration's users over the embedded server's
// options and keeps natsbus's 8 MiB maximum payload unless it sets one
// (a configure function that replaced the options whole lost it).
func TestConf(t *testing.T) {
	t.Parallel()
	const users = `authorization { users: [ { user: warp, password: warp-pw } ] }`
	for _, tt := range []struct {
		name, conf string
		want       int64
	}{
		{"natsbus's payload", users, 8 << 20},
		{"the configuration's payload", users + "\nmax_payload: 2MB", 2 << 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := natstest.StartJetStream(t, natstest.Conf(t, tt.conf))
			if nc, err := nats.Connect(srv.URL(), nats.MaxReconnects(0)); err == nil {
				nc.Close()
				t.Fatal("connected without the configuration's password")
			}
			nc, err := nats.Connect(srv.URL(), nats.UserInfo("warp", "warp-pw"), nats.MaxReconnects(0))
			if err != nil {
				t.Fatalf("connect as warp: %v", err)
			}
			defer nc.Close()
			if got := nc.MaxPayload(); got != tt.want {
				t.Errorf("got max payload %d; want %d", got, tt.want)
			}
			js, err := nc.JetStream()
			if err == nil {
				_, err = js.AccountInfo()
			}
			if err != nil {
				t.Errorf("JetStream account info: %v; want JetStream on", err)
			}
		})
	}
}
