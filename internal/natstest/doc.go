// Package natstest holds the NATS helpers of the tests: an in-process
// nats-server per test, configured in code or in nats-server's own syntax,
// a test CA with server and client certificates, and an operator-mode
// (JWT) setup with a user's .creds file. Every server listens on 127.0.0.1
// and a free port and is shut down when its test ends.
//
// # Servers
//
// [Start] and [StartJetStream] run [natsbus.StartEmbedded] with a
// configure function: one written in the test, [Operator.Configure], or
// [Conf] for a nats-server configuration file's text (the deployments of
// docs/security.md are tested that way).
//
// # Credentials
//
// [NewPKI] writes a CA, a server certificate for 127.0.0.1 and two client
// certificates as PEM files; [PKI.ServerTLS] is the server's side, which
// requires a client certificate. [NewOperator] makes an operator, an
// account it signs and a user of that account.
package natstest
