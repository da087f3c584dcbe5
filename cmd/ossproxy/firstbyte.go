package main

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// firstByteListener hands an accepted connection to net/http only once
// its first byte has arrived, so a new connection's wait for its first
// request is idle time (bounded by timeouts.idle), as net/http already
// treats the wait between keep-alive requests; read_header and read then
// start with the request itself.
//
// Without it, net/http starts read_header at accept: a client that
// connects and sends its request a little later than read_header (a busy
// client, or a connection an http.Transport dialed ahead and used later)
// finds the connection silently closed, and since the connection was
// never used before, Go's client does not retry: the request fails with
// EOF. A client that dribbles its headers is still cut by read_header.
type firstByteListener struct {
	net.Listener
	idle time.Duration

	ready chan net.Conn  // connections whose first byte arrived
	errc  chan error     // Accept errors, in order
	done  chan struct{}  // closed by Close
	ended chan struct{}  // closed when the accept loop returns
	err   error          // the error that ended the loop; read after ended
	once  sync.Once      // closes done
	wg    sync.WaitGroup // the accept loop and the waits
	mu    sync.Mutex     // guards pending and closed
	pend  map[net.Conn]struct{}
	closd bool
}

func newFirstByteListener(ln net.Listener, idle time.Duration) *firstByteListener {
	l := &firstByteListener{
		Listener: ln, idle: idle,
		ready: make(chan net.Conn), errc: make(chan error), done: make(chan struct{}), ended: make(chan struct{}),
		pend: make(map[net.Conn]struct{}),
	}
	l.wg.Add(1)
	go l.loop()
	return l
}

func (l *firstByteListener) loop() {
	defer l.wg.Done()
	defer close(l.ended)
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			var te interface{ Temporary() bool }
			if errors.As(err, &te) && te.Temporary() { // as net/http: it backs off and calls again
				select {
				case l.errc <- err:
					continue
				case <-l.done:
					err = net.ErrClosed
				}
			}
			l.err = err
			return
		}
		l.wg.Add(1)
		go l.wait(c)
	}
}

// wait reads c's first byte within idle, then offers c to Accept.
func (l *firstByteListener) wait(c net.Conn) {
	defer l.wg.Done()
	l.mu.Lock()
	if l.closd {
		l.mu.Unlock()
		c.Close()
		return
	}
	l.pend[c] = struct{}{}
	l.mu.Unlock()
	if l.idle > 0 {
		_ = c.SetReadDeadline(time.Now().Add(l.idle))
	}
	var b [1]byte
	n, err := c.Read(b[:])
	l.mu.Lock()
	delete(l.pend, c)
	l.mu.Unlock()
	if n == 0 || err != nil || c.SetReadDeadline(time.Time{}) != nil {
		c.Close()
		return
	}
	select {
	case l.ready <- &firstByteConn{Conn: c, first: b[0], has: true}:
	case <-l.done:
		c.Close()
	}
}

// Accept returns the next connection whose first byte has arrived.
func (l *firstByteListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case err := <-l.errc:
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	case <-l.ended:
		return nil, l.err
	}
}

// Close closes the listener and the connections still waiting for their
// first byte, and waits for its goroutines to end.
func (l *firstByteListener) Close() error {
	l.once.Do(func() { close(l.done) })
	err := l.Listener.Close()
	l.mu.Lock()
	l.closd = true
	for c := range l.pend {
		c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
	return err
}

// firstByteConn is a connection whose first byte was read ahead.
type firstByteConn struct {
	net.Conn
	first byte
	has   bool
}

func (c *firstByteConn) Read(p []byte) (int, error) {
	if c.has && len(p) > 0 {
		p[0], c.has = c.first, false
		return 1, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite keeps net/http's half-close before closing a connection.
func (c *firstByteConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// ReadFrom keeps the underlying connection's ReadFrom (sendfile, splice).
func (c *firstByteConn) ReadFrom(r io.Reader) (int64, error) { return io.Copy(c.Conn, r) }
