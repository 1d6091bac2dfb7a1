package clickhouse

// The rotation's SQL, for the chdb-tagged test.
const (
	LiveWebhooksSQL     = liveWebhooksSQL
	RunWebhooksAfterSQL = runWebhooksAfterSQL
)
