// Package serve runs the benchmark servers' HTTP lifecycle, shared so that
// both servers under comparison start, serve and stop the same way.
package serve

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Environment variables that switch a server to HTTPS. With both set, it
// serves TLS with that certificate and, as net/http does over TLS,
// negotiates HTTP/2 with clients that offer it.
const (
	EnvTLSCert = "TLS_CERT_FILE"
	EnvTLSKey  = "TLS_KEY_FILE"
)

// Listen listens on addr and prints "<name> listening on http(s)://host:port",
// the line cmd/load waits for.
func Listen(name, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	scheme := "http"
	if os.Getenv(EnvTLSCert) != "" {
		scheme = "https"
	}
	fmt.Printf("%s listening on %s://%s\n", name, scheme, ln.Addr())
	return ln, nil
}

// UntilSignal serves h on ln, over TLS when EnvTLSCert and EnvTLSKey are
// set, until SIGINT or SIGTERM, then shuts down gracefully, as the
// examples do.
func UntilSignal(ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	cert, key := os.Getenv(EnvTLSCert), os.Getenv(EnvTLSKey)
	if (cert == "") != (key == "") {
		return fmt.Errorf("serve: set both %s and %s, or neither", EnvTLSCert, EnvTLSKey)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() {
		if cert != "" {
			errc <- srv.ServeTLS(ln, cert, key)
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
