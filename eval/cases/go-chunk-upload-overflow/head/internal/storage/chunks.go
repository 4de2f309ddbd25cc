package storage

import (
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
)

// ChunkSize is the size of every chunk but the last.
const ChunkSize = 8 << 20

type upload struct {
	file   *os.File
	Chunks int
	mu     sync.Mutex
}

type Handler struct {
	dir     string
	uploads map[string]*upload
	mu      sync.Mutex
}

func (h *Handler) lookup(id string) *upload {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.uploads[id]
}

// PutChunk writes chunk ?index=N of upload ?id=X at its offset.
func (h *Handler) PutChunk(w http.ResponseWriter, r *http.Request) {
	u := h.lookup(r.URL.Query().Get("id"))
	if u == nil {
		http.Error(w, "unknown upload id", http.StatusNotFound)
		return
	}
	idx, err := strconv.Atoi(r.URL.Query().Get("index"))
	if err != nil || idx < 0 || idx > u.Chunks {
		http.Error(w, "index must be an integer from 0 to chunks-1", http.StatusBadRequest)
		return
	}
	offset := int64(int32(idx) * int32(ChunkSize))
	body := io.LimitReader(r.Body, ChunkSize)
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, err := u.file.Seek(offset, io.SeekStart); err != nil {
		http.Error(w, "seek failed", http.StatusInternalServerError)
		return
	}
	if _, err := io.Copy(u.file, body); err != nil {
		http.Error(w, "write failed", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
