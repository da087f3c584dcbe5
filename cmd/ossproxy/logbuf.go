package main

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// logBufferSize is the size of a logBuffer's buffers: about 150 JSON
// access-log records, written with one write(2).
const logBufferSize = 64 << 10

// logBuffer is the process log's writer when logging.flush_interval is
// not 0: it batches records into a bounded buffer and writes the buffer
// to w when the next record would not fit, at most interval after the
// oldest record in it was written, and on Flush and Close. Each Write is
// one record (slog handlers write a whole record per call) and is kept
// whole: a buffer only ever holds whole records, so lines never split or
// interleave. A record larger than the buffer is written on its own.
//
// A background goroutine does the writes, in order, so a Write only
// copies into memory. While it writes one buffer the next one fills; a
// Write waits only when that one is full too, i.e. for as long as the
// write in progress takes (a slow disk or a full pipe), no longer than a
// write(2) per record would have kept it. At most three buffers hold
// records at a time (192 KiB); two more are kept for reuse.
//
// A write error drops the buffer it failed on (records are not retried)
// and is reported by the next Flush or Close, with how many bytes were
// lost. After Close, Write writes through to w. A process killed with
// SIGKILL loses what is buffered: at most flush_interval of records, and
// never more than three buffers (192 KiB, when the sink is stuck).
//
// A logBuffer is safe for concurrent use.
type logBuffer struct {
	w        io.Writer
	size     int
	interval time.Duration

	mu     sync.Mutex
	buf    []byte      // whole records, not yet handed to the writer
	timer  *time.Timer // the timed flush; armed while buf holds records
	armed  bool
	closed bool
	queue  chan logChunk // to the writer goroutine, in order
	free   chan []byte   // written buffers, for reuse
	done   chan struct{} // closed when the writer goroutine returns

	errMu sync.Mutex
	err   error // the first write error since the last report
	lost  int64 // bytes dropped by write errors since the last report
}

// logChunk is a buffer for the writer goroutine; ack, if not nil, is
// closed once it has been written.
type logChunk struct {
	b   []byte
	ack chan struct{}
}

// newLogBuffer returns a logBuffer over w with buffers of size bytes,
// flushed at most interval after their first record (interval > 0).
// Call Close to write what remains and stop its goroutine.
func newLogBuffer(w io.Writer, size int, interval time.Duration) *logBuffer {
	b := &logBuffer{
		w: w, size: size, interval: interval,
		buf:   make([]byte, 0, size),
		queue: make(chan logChunk, 1),
		free:  make(chan []byte, 2),
		done:  make(chan struct{}),
	}
	go b.writeLoop()
	return b
}

// Write buffers one record; it copies p and never returns an error
// before Close (write errors are reported by Flush and Close).
func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return b.w.Write(p)
	}
	if len(b.buf)+len(p) > b.size && len(b.buf) > 0 {
		b.handOff(nil)
	}
	if len(p) > b.size {
		b.queue <- logChunk{b: append([]byte(nil), p...)}
		return len(p), nil
	}
	b.buf = append(b.buf, p...)
	if !b.armed {
		b.armed = true
		if b.timer == nil {
			b.timer = time.AfterFunc(b.interval, b.timedFlush)
		} else {
			b.timer.Reset(b.interval)
		}
	}
	return len(p), nil
}

// handOff queues the buffered records for the writer goroutine and
// starts a new buffer. It waits while the writer is behind by a buffer.
// b.mu is held.
func (b *logBuffer) handOff(ack chan struct{}) {
	b.queue <- logChunk{b: b.buf, ack: ack}
	select {
	case b.buf = <-b.free:
	default:
		b.buf = make([]byte, 0, b.size)
	}
}

func (b *logBuffer) timedFlush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.armed = false
	if !b.closed && len(b.buf) > 0 {
		b.handOff(nil)
	}
}

func (b *logBuffer) writeLoop() {
	defer close(b.done)
	for c := range b.queue {
		if len(c.b) > 0 {
			n, err := b.w.Write(c.b)
			if err == nil && n < len(c.b) {
				err = io.ErrShortWrite
			}
			if err != nil {
				b.errMu.Lock()
				if b.err == nil {
					b.err = err
				}
				b.lost += int64(len(c.b) - max(n, 0))
				b.errMu.Unlock()
			}
			if cap(c.b) == b.size {
				select {
				case b.free <- c.b[:0]:
				default:
				}
			}
		}
		if c.ack != nil {
			close(c.ack)
		}
	}
}

// Flush writes every record buffered so far and returns the write errors
// since the last Flush or Close, if any.
func (b *logBuffer) Flush() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return b.report()
	}
	ack := make(chan struct{})
	b.handOff(ack)
	b.mu.Unlock()
	<-ack
	return b.report()
}

// Close writes what remains, stops the writer goroutine and returns the
// write errors not yet reported. Later Writes go straight to w. Close is
// idempotent.
func (b *logBuffer) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		if b.timer != nil {
			b.timer.Stop()
		}
		if len(b.buf) > 0 {
			b.queue <- logChunk{b: b.buf}
			b.buf = nil
		}
		close(b.queue)
	}
	<-b.done // under b.mu: a Write after Close waits for the last buffer
	return b.report()
}

// errLogWrite wraps the write errors a logBuffer reports.
var errLogWrite = errors.New("writing the log")

func (b *logBuffer) report() error {
	b.errMu.Lock()
	defer b.errMu.Unlock()
	if b.err == nil {
		return nil
	}
	err := fmt.Errorf("%w: %d bytes of log records lost: %w", errLogWrite, b.lost, b.err)
	b.err, b.lost = nil, 0
	return err
}
