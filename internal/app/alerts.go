package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/internal/alerts"
	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/workflows"
)

// Alerts turns alerts.* on in the worker's activities: the target posts
// with the activities' own sender (the same SSRF guard, timeout and
// webhooks.headers as webhooks), and the raiser starts Alert workflows
// through c. With alerts.url unset it changes nothing.
func Alerts(cfg config.Config, c client.Client, acts *activities.Activities) error {
	target, err := alerts.NewTarget(cfg.Alerts.URL, cfg.Alerts.SigningSecret, acts.Sender)
	if err != nil || target == nil {
		return err
	}
	acts.AlertTarget = target
	acts.Alerts = &alerts.Raiser{
		Starter: AlertStarter{Client: c, TaskQueue: cfg.Temporal.TaskQueue,
			Retry:       workflows.RetrySettings{InitialInterval: cfg.Delivery.InitialInterval, BackoffCoefficient: cfg.Delivery.BackoffCoefficient},
			HTTPTimeout: cfg.Delivery.Timeout},
		Logger: acts.Logger,
	}
	if acts.Metrics != nil {
		acts.Alerts.Metrics = acts.Metrics
	}
	return nil
}

// AlertStarter starts an event's Alert workflow under workflows.AlertID,
// never twice: an ID that ran before, even to completion, is refused.
type AlertStarter struct {
	Client      client.Client
	TaskQueue   string
	Retry       workflows.RetrySettings
	HTTPTimeout time.Duration
}

// StartAlert implements alerts.Starter.
func (s AlertStarter) StartAlert(ctx context.Context, ev alerts.Event) (bool, error) {
	_, err := s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       workflows.AlertID(ev.ID),
		TaskQueue:                                s.TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, workflows.Alert, workflows.AlertInput{Event: ev, Retry: s.Retry, HTTPTimeout: s.HTTPTimeout})
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &already):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("start alert workflow: %w", err)
	}
	return true, nil
}
