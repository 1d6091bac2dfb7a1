package inbox

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// shutdownGrace bounds how long a stopping inbox waits for requests in flight.
const shutdownGrace = 5 * time.Second

var errStopping = errors.New("inbox stopping")

// Server serves a Handler on a listener opened up front, so that the address
// actually bound (":0" picks a port) is known before serving.
type Server struct {
	ln  net.Listener
	srv *http.Server
}

// Listen binds addr for h.
func Listen(addr string, h http.Handler) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &Server{ln: ln, srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}, nil
}

// Addr is the address bound.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL is the base URL of the inbox, e.g. http://127.0.0.1:9999.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Serve serves until ctx is cancelled, then shuts down gracefully. Requests
// carry ctx, so a delayed answer stops waiting at once when the inbox stops.
func (s *Server) Serve(ctx context.Context) error {
	// The cause tells a delayed handler that the inbox, not the sender,
	// ended its request.
	base, stop := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stop(nil)
	s.srv.BaseContext = func(net.Listener) context.Context { return base }
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	stop(errStopping)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
