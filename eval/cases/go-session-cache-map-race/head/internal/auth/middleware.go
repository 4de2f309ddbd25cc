package auth

import (
	"context"
	"net/http"
	"strings"
	"time"
)

type ctxKey struct{}

// Session is a validated login session.
type Session struct {
	ID        string
	UserID    int64
	ExpiresAt time.Time
}

// Store looks sessions up by token.
type Store interface {
	Lookup(ctx context.Context, token string) (*Session, error)
}

// Middleware authenticates requests with a bearer session token.
type Middleware struct {
	store Store
	cache map[string]*Session
}

func NewMiddleware(store Store) *Middleware {
	return &Middleware{store: store, cache: make(map[string]*Session)}
}

func (m *Middleware) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if token == "" {
			http.Error(w, "missing bearer token", http.StatusUnauthorized)
			return
		}
		sess, ok := m.cache[token]
		if !ok {
			var err error
			sess, err = m.store.Lookup(r.Context(), token)
			if err != nil || sess == nil || time.Now().After(sess.ExpiresAt) {
				http.Error(w, "invalid or expired session", http.StatusUnauthorized)
				return
			}
			m.cache[token] = sess
		}
		ctx := context.WithValue(r.Context(), ctxKey{}, sess)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
