-- Summaries are kept per student and section (a transfer keeps both histories; a mark in another section no
-- longer moves the student's one summary there). Recounted from the rows, per section. A pair that had the
-- old summary keeps its time; the student's other sections take the same time (the rows carry none).
create table summaries_by_section (
  student_user_id text not null,
  section_id text not null,
  present int not null,
  absent int not null,
  late int not null,
  excused int not null,
  unjustified_absences int not null,
  tardies int not null,
  updated_at timestamptz not null,
  primary key (student_user_id, section_id)
);

with pairs as (
  select student_user_id, section_id from marks
  union select student_user_id, section_id from absences
  union select student_user_id, section_id from tardies
),
m as (
  select student_user_id, section_id,
    count(*) filter (where status = 'PRESENT')::int present,
    count(*) filter (where status = 'ABSENT')::int absent,
    count(*) filter (where status = 'LATE')::int late,
    count(*) filter (where status = 'EXCUSED')::int excused
  from marks group by student_user_id, section_id
),
a as (select student_user_id, section_id, count(*)::int n from absences where not justified group by student_user_id, section_id),
t as (select student_user_id, section_id, count(*)::int n from tardies group by student_user_id, section_id)
insert into summaries_by_section
select p.student_user_id, p.section_id,
  coalesce(m.present, 0), coalesce(m.absent, 0), coalesce(m.late, 0), coalesce(m.excused, 0), coalesce(a.n, 0), coalesce(t.n, 0),
  s.updated_at
from pairs p
join summaries s on s.student_user_id = p.student_user_id
left join m on m.student_user_id = p.student_user_id and m.section_id = p.section_id
left join a on a.student_user_id = p.student_user_id and a.section_id = p.section_id
left join t on t.student_user_id = p.student_user_id and t.section_id = p.section_id;

drop table summaries;
alter table summaries_by_section rename to summaries;
alter index summaries_by_section_pkey rename to summaries_pkey;
