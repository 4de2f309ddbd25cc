package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

type auditEntry struct {
	ID     int64     `json:"id"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	At     time.Time `json:"at"`
}

func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 || limit > 500 {
		limit = 100
	}
	where := "TRUE"
	if actor := r.URL.Query().Get("actor"); actor != "" {
		where += fmt.Sprintf(" AND actor = '%s'", actor)
	}
	if action := r.URL.Query().Get("action"); action != "" {
		where += fmt.Sprintf(" AND action LIKE '%s%%'", action)
	}
	query := "SELECT id, actor, action, at FROM audit_log WHERE " + where + " ORDER BY at DESC LIMIT $1"
	rows, err := s.db.QueryContext(r.Context(), query, limit)
	if err != nil {
		http.Error(w, "audit query failed", http.StatusInternalServerError)
		return
	}
	defer rows.Close()
	var out []auditEntry
	for rows.Next() {
		var e auditEntry
		if err := rows.Scan(&e.ID, &e.Actor, &e.Action, &e.At); err != nil {
			http.Error(w, "audit scan failed", http.StatusInternalServerError)
			return
		}
		out = append(out, e)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}
