package presign

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/google/uuid"
)

// Source reads the stored field of the newest version of a run;
// *clickhouse.Store is one. found is false for an unknown run; a stored
// null is (nil, true).
type Source interface {
	RunDocument(ctx context.Context, runID uuid.UUID, field string) (doc json.RawMessage, found bool, err error)
}

// Handler serves presigned URLs, mounted at Prefix without API-key auth: the
// signature is the credential. A request that does not verify gets 403
// before storage is read; a verified URL of an unknown run gets 404; else
// the field's bytes exactly as stored, as application/json.
func Handler(s *Signer, src Source) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		id, field, err := s.Verify(r.Method, r.URL.Path, r.URL.Query())
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		doc, found, err := src.RunDocument(r.Context(), id, field)
		if err != nil {
			// Storage errors may name the database; the receiver needs none of it.
			http.Error(w, "storage unavailable", http.StatusServiceUnavailable)
			return
		}
		if !found {
			http.Error(w, "run "+id.String()+" not found", http.StatusNotFound)
			return
		}
		if doc == nil {
			doc = json.RawMessage("null")
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Length", strconv.Itoa(len(doc)))
		_, _ = w.Write(doc)
	})
}
