// Package natsd runs an embedded NATS server with JetStream, for a single machine
// (`reactord serve`) and for tests that need a real server.
package natsd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// MaxPayload is the largest message reactord sends: a 5 MiB result, encoded,
// with room to spare. Servers reactord connects to must allow at least this.
const MaxPayload = 8 << 20

// Options configure an embedded server.
type Options struct {
	// DataDir holds JetStream's storage; data survives restarts.
	DataDir string
	// Host and Port to listen on; Port -1 picks a free port. Port 0 means -1.
	Host string
	Port int
	// ServerName names the server in a cluster; empty picks one.
	ServerName string
	// InProcessOnly opens no network listener: only Connect reaches the server, so
	// nothing outside the process can, with or without credentials.
	InProcessOnly bool
	// User and Password, when set, are required of every client that connects over
	// the network; Connect authenticates with credentials of its own.
	User, Password string
}

// Server is a running embedded NATS server.
type Server struct {
	ns *server.Server
	// inProcess are the credentials of Connect when the server requires them.
	inProcess *server.User
}

// Start starts the server and waits until it accepts connections.
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.DataDir == "" {
		return nil, errors.New("natsd: DataDir is required")
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.Port == 0 {
		o.Port = -1
	}
	opts := &server.Options{
		ServerName: o.ServerName,
		Host:       o.Host,
		Port:       o.Port,
		JetStream:  true,
		MaxPayload: MaxPayload,
		StoreDir:   filepath.Join(o.DataDir, "jetstream"),
		NoSigs:     true,
		NoLog:      true,
		DontListen: o.InProcessOnly,
	}
	var inProcess *server.User
	if o.User != "" {
		b := make([]byte, 24)
		rand.Read(b)
		inProcess = &server.User{Username: "reactord-in-process", Password: hex.EncodeToString(b)}
		opts.Users = []*server.User{inProcess, {Username: o.User, Password: o.Password}}
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("natsd: %w", err)
	}
	ns.Start()
	deadline := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		deadline = time.Until(d)
	}
	if !ns.ReadyForConnections(deadline) {
		ns.Shutdown()
		return nil, errors.New("natsd: server did not become ready")
	}
	return &Server{ns: ns, inProcess: inProcess}, nil
}

// Connect returns a connection to the server inside this process, past the network:
// no socket, no listener needed.
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	opts = append(opts, nats.InProcessServer(s.ns))
	if s.inProcess != nil {
		opts = append(opts, nats.UserInfo(s.inProcess.Username, s.inProcess.Password))
	}
	return nats.Connect("", opts...)
}

// URL is the client URL of the server.
func (s *Server) URL() string { return s.ns.ClientURL() }

// Shutdown stops the server and waits for it.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}
