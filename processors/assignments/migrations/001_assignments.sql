create table assignments (
  assignment_id text primary key,
  teacher_user_id text not null,
  section_id text not null,
  course_id text not null,
  weekly_hours int not null,
  start_date date not null,
  active boolean not null default true,
  removed_reason text
);
create index assignments_teacher on assignments (teacher_user_id) where active;
create index assignments_section on assignments (section_id) where active;

create table schedules (
  schedule_id text primary key,
  section_id text not null,
  course_id text not null,
  teacher_user_id text not null,
  day_of_week text not null,
  start_minute int not null,
  end_minute int not null,
  room text
);
create index schedules_teacher_day on schedules (teacher_user_id, day_of_week);
create index schedules_section_day on schedules (section_id, day_of_week);

create table conflicts (
  schedule_id text not null,
  conflicting_schedule_id text not null,
  conflict_type text not null,
  detected_at timestamptz not null,
  primary key (schedule_id, conflicting_schedule_id, conflict_type)
);

create table workloads (
  teacher_user_id text primary key,
  weekly_hours int not null,
  assignment_count int not null,
  overloaded boolean not null,
  updated_at timestamptz not null
);

-- Sections whose students were enrolled: eligible for teacher assignment (the fan-out of student.enrolled).
create table eligible_sections (section_id text primary key, first_enrollment_at timestamptz not null);
