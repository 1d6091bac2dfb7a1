package runs

import "github.com/google/uuid"

// projectNamespace seeds ProjectID. Fixed forever: changing it would move every
// project named by the SDKs to a new id.
var projectNamespace = uuid.MustParse("5f0c6a8e-2d1b-4d59-9a57-3c1e7b0f4a21")

// DefaultProject is LangSmith's project for runs that name none.
const DefaultProject = "default"

// ProjectID is the session_id of the project the SDKs name by session_name
// (LANGSMITH_PROJECT): runhook keeps no table of projects, so the id is
// derived from the name (UUID v5) and is the same on every server, and a rule
// can name the project as the SDK does.
func ProjectID(name string) uuid.UUID { return uuid.NewSHA1(projectNamespace, []byte(name)) }
