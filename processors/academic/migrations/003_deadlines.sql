alter table enrollments add column deadline_expired boolean not null default false;
create index enrollments_open_by_progress on enrollments (updated_at) where status not in ('COMPLETED', 'FAILED', 'COMPENSATION_FAILED');
