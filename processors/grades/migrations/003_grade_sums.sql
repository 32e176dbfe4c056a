-- Running sums per student, course, period and evaluation type: a grade updates its average in O(1)
-- instead of re-reading the key's history. Points are the grade's percentage in millionths (integers:
-- exact sums, the same average in any order, live and in a rebuild).
create table grade_sums (
  student_user_id text not null,
  course_id text not null,
  period_id text not null,
  evaluation_type text not null,
  points bigint not null,
  grades int not null,
  primary key (student_user_id, course_id, period_id, evaluation_type)
);
insert into grade_sums
select student_user_id, course_id, period_id, evaluation_type, sum(round(score / max_score * 1e8))::bigint, count(*)::int
from grades where max_score > 0
group by student_user_id, course_id, period_id, evaluation_type;
