package docs

import (
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

type Server struct {
	Root string // directory holding one sub-directory per version
}

func (s *Server) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /docs/", s.index)
	mux.HandleFunc("GET /docs/raw", s.file)
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	entries, err := os.ReadDir(s.Root)
	if err != nil {
		http.Error(w, "cannot list versions", http.StatusInternalServerError)
		return
	}
	var b strings.Builder
	for _, e := range entries {
		if e.IsDir() {
			b.WriteString(e.Name() + "\n")
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(b.String()))
}

func (s *Server) file(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := filepath.Join(s.Root, q.Get("version"), q.Get("file"))
	f, err := os.Open(p)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	if ct := mime.TypeByExtension(filepath.Ext(p)); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.Header().Set("Cache-Control", "public, max-age=86400")
	io.Copy(w, f)
}
