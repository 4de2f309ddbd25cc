package avatar

import (
	"net/http"
	"strconv"

	"example.com/app/internal/cache"
)

type Handler struct {
	render func(userID int64, size int) ([]byte, error)
	cache  *cache.LRU[string, []byte]
}

func NewHandler(render func(int64, int) ([]byte, error)) *Handler {
	return &Handler{render: render, cache: cache.NewLRU[string, []byte](4096)}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.URL.Query().Get("user"), 10, 64)
	if err != nil {
		http.Error(w, "user must be a numeric id", http.StatusBadRequest)
		return
	}
	size, err := strconv.Atoi(r.URL.Query().Get("size"))
	if err != nil || size < 16 || size > 512 {
		size = 128
	}
	key := strconv.FormatInt(id, 10) + "/" + strconv.Itoa(size)
	img, ok := h.cache.Get(key)
	if !ok {
		img, err = h.render(id, size)
		if err != nil {
			http.Error(w, "render failed", http.StatusInternalServerError)
			return
		}
		h.cache.Put(key, img)
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(img)
}
