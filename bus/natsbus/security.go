package natsbus

import (
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/warpcache/warp/bus"
)

// Credentials returns the nats.go options of o's credentials and TLS
// settings, for a connection to url (a comma-separated list is fine) that
// the caller makes with nats.Connect: one that must hear its own
// messages, say, which a connection of [Dial] does not (it sets
// nats.NoEcho). With InProcess they also reach the server through its
// pipe, each write bounded by Timeout, as Dial's do. Reconnect settings,
// Name, InboxPrefix and Logger are not among them. It rejects what Dial
// rejects, with Dial's errors: user info in url counts as one kind of
// credentials. Errors wrap [bus.ErrInvalid] and name fields, never their
// values; [Options.Secrets] lists what to keep out of the caller's own
// messages.
func (o Options) Credentials(url string) ([]nats.Option, error) {
	if err := o.checkInProcess(url); err != nil {
		return nil, err
	}
	opts, err := o.securityOptions(hasUserInfo(url))
	if err != nil {
		return nil, err
	}
	return append(opts, o.withDefaults().pipeOptions()...), nil
}

// securityOptions returns the nats.go options for o's credentials and TLS
// settings. urlCreds says whether the URL carries user info, which counts
// as one kind of credentials. Errors wrap [bus.ErrInvalid] and name
// fields, never their values.
func (o Options) securityOptions(urlCreds bool) ([]nats.Option, error) {
	if err := o.checkDialOptions(urlCreds); err != nil {
		return nil, err
	}
	var opts []nats.Option
	switch {
	case o.User != "":
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	case o.Token != "":
		opts = append(opts, nats.Token(o.Token))
	case o.NKeySeedFile != "":
		opt, err := nats.NkeyOptionFromSeed(o.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("%w: natsbus: NKeySeedFile: %w", bus.ErrInvalid, err)
		}
		opts = append(opts, opt)
	case o.CredsFile != "":
		opts = append(opts, nats.UserCredentials(o.CredsFile))
	}
	// Secure first: RootCAs and ClientCert add to the configuration it sets.
	if o.TLSConfig != nil {
		opts = append(opts, nats.Secure(o.TLSConfig.Clone()))
	}
	if o.CAFile != "" {
		opts = append(opts, nats.RootCAs(o.CAFile))
	}
	if o.CertFile != "" {
		opts = append(opts, nats.ClientCert(o.CertFile, o.KeyFile))
	}
	return opts, nil
}

func (o Options) checkDialOptions(urlCreds bool) error {
	var kinds []string
	for _, k := range []struct {
		set  bool
		name string
	}{
		{urlCreds, "user info in the URL"},
		{o.User != "" || o.Password != "", "User/Password"},
		{o.Token != "", "Token"},
		{o.NKeySeedFile != "", "NKeySeedFile"},
		{o.CredsFile != "", "CredsFile"},
	} {
		if k.set {
			kinds = append(kinds, k.name)
		}
	}
	switch {
	case len(kinds) > 1:
		return fmt.Errorf("%w: natsbus: credentials from %s: set one kind only", bus.ErrInvalid, strings.Join(kinds, " and "))
	case (o.User == "") != (o.Password == ""):
		return fmt.Errorf("%w: natsbus: User and Password go together", bus.ErrInvalid)
	case (o.CertFile == "") != (o.KeyFile == ""):
		return fmt.Errorf("%w: natsbus: CertFile and KeyFile go together", bus.ErrInvalid)
	case o.InboxPrefix != "":
		return validSubject("InboxPrefix", o.InboxPrefix)
	}
	return nil
}
