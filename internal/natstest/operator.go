package natstest

import (
	"testing"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// Operator is an operator-mode (decentralized JWT) setup: an operator,
// one account it signs, and a user of that account.
type Operator struct {
	Claims   *jwt.OperatorClaims
	Resolver *server.MemAccResolver // holds the account's JWT
	// Creds is the content of the user's .creds file (its JWT and seed);
	// UserSeed the seed alone, which no message may show.
	Creds, UserSeed []byte
}

// NewOperator makes an operator, an account and a user named warp.
func NewOperator(tb testing.TB) Operator {
	tb.Helper()
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	okp, err := nkeys.CreateOperator()
	must(err)
	opub, _ := okp.PublicKey()
	ojwt, err := jwt.NewOperatorClaims(opub).Encode(okp)
	must(err)
	oc, err := jwt.DecodeOperatorClaims(ojwt)
	must(err)

	akp, err := nkeys.CreateAccount()
	must(err)
	apub, _ := akp.PublicKey()
	ajwt, err := jwt.NewAccountClaims(apub).Encode(okp)
	must(err)
	res := &server.MemAccResolver{}
	must(res.Store(apub, ajwt))

	ukp, err := nkeys.CreateUser()
	must(err)
	upub, _ := ukp.PublicKey()
	useed, _ := ukp.Seed()
	uc := jwt.NewUserClaims(upub)
	uc.Name = "warp"
	ujwt, err := uc.Encode(akp)
	must(err)
	creds, err := jwt.FormatUserConfig(ujwt, useed)
	must(err)
	return Operator{Claims: oc, Resolver: res, Creds: creds, UserSeed: useed}
}

// Configure puts the server in operator mode, trusting op's operator and
// resolving its account: a configure function for [Start].
func (op Operator) Configure(o *server.Options) {
	o.TrustedOperators = []*jwt.OperatorClaims{op.Claims}
	o.AccountResolver = op.Resolver
}
