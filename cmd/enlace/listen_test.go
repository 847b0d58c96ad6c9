package main

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// TestLimitListenerCloseReleasesTheHeldConnection: closing a listener that
// holds a connection (the limit reached) ends Accept with net.ErrClosed and
// closes the held connection, so shutdown never hangs on it; a place freed
// by Close counts once however often Close is called.
func TestLimitListenerCloseReleasesTheHeldConnection(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := limitListen(inner, 1)
	var d net.Dialer
	dial := func() net.Conn {
		c, err := d.DialContext(ctx, "tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		dl, _ := ctx.Deadline()
		c.SetDeadline(dl)
		t.Cleanup(func() { c.Close() })
		return c
	}
	dial()
	held, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	held.Close()
	held.Close() // a second Close gives back nothing more
	if ln.Open() != 0 {
		t.Fatalf("open after Close: got %d, want 0", ln.Open())
	}
	dial()
	first, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second := dial()
	accepted := make(chan error, 1)
	go func() {
		_, err := ln.Accept()
		accepted <- err
	}()
	poll(t, ctx, "the second connection held", func() bool { return ln.Waiting() == 1 })
	ln.Close()
	select {
	case err := <-accepted:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close: got %v, want net.ErrClosed", err)
		}
	case <-ctx.Done():
		t.Fatal("Accept still waits after Close")
	}
	if _, err := second.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the held connection was left open: %v", err)
		}
	}
	if ln.Waiting() != 0 {
		t.Errorf("waiting after Close: got %d, want 0", ln.Waiting())
	}
}
