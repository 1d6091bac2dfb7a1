package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/internal/alerts"
)

// AlertInput is one alert to post to alerts.url.
type AlertInput struct {
	Event alerts.Event
	// Retry and HTTPTimeout come from config (delivery.*), as for webhooks.
	Retry       RetrySettings
	HTTPTimeout time.Duration
}

// AlertID is the workflow ID of an alert: one workflow per event, so an
// event raised again (its trigger retried) starts nothing new.
func AlertID(eventID string) string { return "alert/" + eventID }

// Alert posts one alert, retried as a webhook delivery is (DeliveryRetryPolicy),
// with the event's ID as webhook-id on every attempt. Its activity counts an
// alert whose last attempt failed.
func Alert(ctx workflow.Context, in AlertInput) error {
	var a *activities.Activities
	return workflow.ExecuteActivity(deliverOptions(ctx, DeliveryInput{Retry: in.Retry, HTTPTimeout: in.HTTPTimeout}),
		a.SendAlert, in.Event).Get(ctx, nil)
}
