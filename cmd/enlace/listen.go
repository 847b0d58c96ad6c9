package main

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Timeouts of every HTTP server serve runs. Providers post small requests and
// get a quick answer; a client that sends its headers slowly, or keeps a
// connection idle, frees its place soon.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 32 << 10
)

// limitListener accepts at most cap(slots) connections at a time: once that
// many are open, Accept holds the next connection, unanswered, until one of
// them closes (or the listener does). Further clients wait in the kernel's
// accept queue. 2,000 idle connections would otherwise cost 170 MB.
type limitListener struct {
	net.Listener
	slots     chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
	open      atomic.Int64
	waiting   atomic.Int64
}

func limitListen(ln net.Listener, max int) *limitListener {
	return &limitListener{Listener: ln, slots: make(chan struct{}, max), closed: make(chan struct{})}
}

// listen listens on addr with at most max connections open at once.
func listen(addr string, max int) (*limitListener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	return limitListen(ln, max), nil
}

func (l *limitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	select {
	case l.slots <- struct{}{}:
	default:
		l.waiting.Add(1)
		select {
		case l.slots <- struct{}{}:
			l.waiting.Add(-1)
		case <-l.closed:
			l.waiting.Add(-1)
			c.Close()
			return nil, net.ErrClosed
		}
	}
	l.open.Add(1)
	return &limitedConn{Conn: c, l: l}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// Open is how many accepted connections are open; Waiting is 1 while a
// connection is held because Open is at the limit.
func (l *limitListener) Open() int64    { return l.open.Load() }
func (l *limitListener) Waiting() int64 { return l.waiting.Load() }

// collectors report the listener's connections as enlace_http_connections
// and enlace_http_connections_waiting, labelled with its name.
func (l *limitListener) collectors(name string) []prometheus.Collector {
	labels := prometheus.Labels{"listener": name}
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "enlace_http_connections", ConstLabels: labels,
			Help: "Connections open on the listener (at most ENLACE_MAX_CONNECTIONS)."},
			func() float64 { return float64(l.Open()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "enlace_http_connections_waiting", ConstLabels: labels,
			Help: "1 while an accepted connection waits because ENLACE_MAX_CONNECTIONS are open."},
			func() float64 { return float64(l.Waiting()) }),
	}
}

// limitedConn gives its place back once, on its first Close.
type limitedConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.open.Add(-1)
		<-c.l.slots
	})
	return err
}

// newServer is an HTTP server with serve's timeouts. The console's live
// updates are long-lived streams: it passes noWriteTimeout.
func newServer(h http.Handler, noWriteTimeout bool) *http.Server {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout,
		WriteTimeout: writeTimeout, IdleTimeout: idleTimeout, MaxHeaderBytes: maxHeaderBytes}
	if noWriteTimeout {
		srv.WriteTimeout = 0
	}
	return srv
}
