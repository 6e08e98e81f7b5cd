package main

import (
	"context"
	"fmt"
	"net"
	"sync"
)

// pipes is an in-memory network for tests in a synctest bubble: each
// listener gets a loopback address, and dialing it hands the listener one
// end of a net.Pipe.
type pipes struct {
	mu        sync.Mutex
	listeners map[string]*pipeListener
}

func (p *pipes) listen() net.Listener {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.listeners == nil {
		p.listeners = map[string]*pipeListener{}
	}
	l := &pipeListener{
		addr:  &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 10001 + len(p.listeners)},
		conns: make(chan net.Conn),
		done:  make(chan struct{}),
	}
	p.listeners[l.addr.String()] = l
	return l
}

// dial is an http.Transport's DialContext.
func (p *pipes) dial(_ context.Context, _, addr string) (net.Conn, error) {
	p.mu.Lock()
	l := p.listeners[addr]
	p.mu.Unlock()
	if l == nil {
		return nil, fmt.Errorf("dial %s: connection refused", addr)
	}
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

type pipeListener struct {
	addr  *net.TCPAddr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return l.addr }
