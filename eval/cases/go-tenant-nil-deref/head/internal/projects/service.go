package projects

import (
	"context"
	"errors"
	"fmt"
)

// ErrLimitReached is returned when the tenant's plan allows no more projects.
var ErrLimitReached = errors.New("project limit of the plan reached")

// Plan is a subscription plan.
type Plan struct {
	ID          string
	MaxProjects int
}

type Tenant struct {
	ID     int64
	PlanID string
}

type Repo interface {
	Tenant(ctx context.Context, id int64) (*Tenant, error)
	CreateProject(ctx context.Context, tenantID int64, name string) (int64, error)
	CountProjects(ctx context.Context, tenantID int64) (int, error)
}

type Service struct {
	repo  Repo
	plans map[string]*Plan
}

func (s *Service) Create(ctx context.Context, tenantID int64, name string) (int64, error) {
	if name == "" {
		return 0, errors.New("project name is required")
	}
	tenant, err := s.repo.Tenant(ctx, tenantID)
	if err != nil {
		return 0, fmt.Errorf("load tenant %d: %w", tenantID, err)
	}
	plan := s.plans[tenant.PlanID]
	count, _ := s.repo.CountProjects(ctx, tenant.ID)
	if count >= plan.MaxProjects {
		return 0, ErrLimitReached
	}
	return s.repo.CreateProject(ctx, tenant.ID, name)
}
