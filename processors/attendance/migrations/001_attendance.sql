create table section_schedules (section_id text not null, schedule_id text not null, primary key (section_id, schedule_id));

-- Step 5 of the enrollment saga: the student's register in the section.
create table registers (
  enrollment_id text primary key,
  student_user_id text not null,
  section_id text not null,
  opened_at timestamptz not null
);
create index registers_student on registers (student_user_id);

create table marks (
  attendance_id text primary key,
  student_user_id text not null,
  section_id text not null,
  date date not null,
  status text not null,
  marked_by text not null
);
create index marks_student_date on marks (student_user_id, date);

create table absences (
  absence_id text primary key,
  student_user_id text not null,
  section_id text not null,
  date date not null,
  reason text,
  recorded_by text not null,
  justified boolean not null default false,
  justification text
);
create index absences_student_date on absences (student_user_id, date);

create table tardies (
  tardiness_id text primary key,
  student_user_id text not null,
  section_id text not null,
  date date not null,
  minutes_late int not null
);
create index tardies_student_date on tardies (student_user_id, date);

create table summaries (
  student_user_id text primary key,
  section_id text not null,
  present int not null,
  absent int not null,
  late int not null,
  excused int not null,
  unjustified_absences int not null,
  tardies int not null,
  updated_at timestamptz not null
);
