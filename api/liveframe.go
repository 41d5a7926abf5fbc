package api

import (
	"encoding/binary"
	"encoding/json"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// liveBatch is how many queued events a client's writer puts in one write.
const liveBatch = 256

// prepare encodes m as the bytes of a WebSocket text frame as a server
// sends it (unmasked; the feed negotiates no compression), shared by every
// client it goes to.
func prepare(m liveMsg) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var hdr []byte
	switch n := len(b); {
	case n < 126:
		hdr = []byte{0x81, byte(n)}
	case n <= 0xffff:
		hdr = binary.BigEndian.AppendUint16([]byte{0x81, 126}, uint16(n))
	default:
		hdr = binary.BigEndian.AppendUint64([]byte{0x81, 127}, uint64(n))
	}
	return append(hdr, b...), nil
}

// frameWriter writes a live connection's frames: events as prepared
// frames, many in one system call (a write per event per client was half
// of the firehose's CPU), and control frames through the connection. One
// lock orders them all, the pongs the reader answers included.
type frameWriter struct {
	conn *websocket.Conn
	mu   sync.Mutex
}

// frames writes frames in one write (writev), by deadline. What was
// written is taken out of frames.
func (w *frameWriter) frames(frames [][]byte, deadline time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	nc := w.conn.NetConn()
	_ = nc.SetWriteDeadline(deadline)
	bufs := net.Buffers(frames)
	_, err := bufs.WriteTo(nc)
	return err
}

// control writes a control frame by deadline.
func (w *frameWriter) control(kind int, data []byte, deadline time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.conn.WriteControl(kind, data, deadline)
}

// answerPings makes the connection's pongs go through w (as gorilla's
// default ping handler answers, but under w's lock).
func (w *frameWriter) answerPings() {
	w.conn.SetPingHandler(func(data string) error {
		err := w.control(websocket.PongMessage, []byte(data), time.Now().Add(liveWriteWait))
		if _, temporary := err.(net.Error); err == websocket.ErrCloseSent || temporary {
			return nil
		}
		return err
	})
}
