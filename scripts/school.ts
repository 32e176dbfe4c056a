import { seededRandom } from '../lib/rng';
import type { Clock } from '../lib/clock';
import { buildEvent } from '../schemas/envelope';
import type { DayOfWeek, EvaluationType, EventPayloads, EventType, SchoolEvent } from '../schemas/generated/events';

/**
 * A realistic school as events, for the demo and the pipeline benchmark: one academic
 * year with two terms, sections with courses, teachers with assignments and a weekly
 * schedule, students with parents, enrollments (some failing for real reasons), and
 * weeks of grades and daily attendance. Deterministic for a given seed and sizes.
 */
export interface SchoolSize {
  sections: number;
  studentsPerSection: number;
  teachers: number;
  weeks: number;
  gradesPerCoursePerWeek: number;
}

const COURSES = ['MATH', 'LANG', 'SCI', 'HIST'] as const;
const DAYS: DayOfWeek[] = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY'];
const EVALS: EvaluationType[] = ['EXAM', 'QUIZ', 'HOMEWORK', 'PROJECT', 'PARTICIPATION'];

export class SchoolGenerator {
  readonly year: string;
  private readonly rand: () => number;
  private readonly events: SchoolEvent[] = [];
  readonly sectionIds: string[] = [];
  readonly enrollmentIds: string[] = [];
  /** Students enrolled in working sections with room: their grades and attendance follow. */
  readonly seated: Array<{ student: string; section: string }> = [];
  /** Start minutes of the free-day lessons given to each teacher and day (setup). */
  private readonly lateSlots = new Map<string, Set<number>>();

  /**
   * Seats the students where their enrollments really COMPLETED (an overflow enrollment may take a seat first):
   * a grade or mark for a student without one in its section is refused (docs/invariants.md).
   */
  seatAs(completed: Array<{ student: string; section: string }>): void {
    this.seated.splice(0, this.seated.length, ...completed);
  }

  constructor(
    private readonly tag: string,
    private readonly size: SchoolSize,
    private readonly clock: Clock,
    seed = 42,
  ) {
    this.year = `${tag}-2025`;
    this.rand = seededRandom(seed);
  }

  private add<T extends EventType>(type: T, payload: EventPayloads[T], correlationId?: string): void {
    this.events.push(
      buildEvent(type, payload, {
        sourceService: 'demo',
        clock: this.clock,
        correlationId,
        metadata: { triggeredBy: 'USR-ADMIN-001' },
      }) as SchoolEvent,
    );
  }

  private take(): SchoolEvent[] {
    return this.events.splice(0);
  }

  /** Year, sections, courses, teachers, assignments, schedules, students, parents. */
  setup(): SchoolEvent[] {
    const t = this.tag;
    this.add('academic.year.started', {
      academicYearId: this.year,
      name: 'School year 2025',
      startDate: '2025-03-03',
      endDate: '2025-12-19',
      gradingPeriods: [
        { periodId: `${this.year}-T1`, name: 'Term 1', startDate: '2025-03-03', endDate: '2025-07-11' },
        { periodId: `${this.year}-T2`, name: 'Term 2', startDate: '2025-07-28', endDate: '2025-12-19' },
      ],
    });
    for (let i = 0; i < this.size.teachers; i++) {
      this.add('user.created', {
        userId: `USR-${t}-T${i}`,
        userType: 'TEACHER',
        firstName: `Teacher${i}`,
        lastName: 'Demo',
        email: `teacher${i}@school.example`,
        phone: null,
        birthDate: null,
        roles: ['TEACHER'],
      });
    }
    for (let s = 0; s < this.size.sections; s++) {
      const sectionId = `SEC-${t}-${5 + (s % 3)}${String.fromCharCode(65 + s)}`;
      this.sectionIds.push(sectionId);
      // The last section has no schedule and the one before no courses: real reasons for a saga to fail.
      const noCourses = s === this.size.sections - 2;
      const noSchedule = s === this.size.sections - 1;
      this.add('section.created', {
        sectionId,
        academicYearId: this.year,
        name: sectionId.slice(-2),
        gradeLevel: 5 + (s % 3),
        capacity: this.size.studentsPerSection,
        homeroom: `Room ${s + 1}`,
      });
      if (noCourses) continue;
      COURSES.forEach((c, ci) => {
        this.add('course.assigned', { sectionId, courseId: `CRS-${c}`, courseName: c, weeklyHours: 5 });
        const teacher = `USR-${t}-T${(s * COURSES.length + ci) % this.size.teachers}`;
        this.add('teacher.assigned.to.course', {
          assignmentId: `ASG-${t}-${s}-${c}`,
          teacherUserId: teacher,
          sectionId,
          courseId: `CRS-${c}`,
          weeklyHours: 5,
          startDate: '2025-03-03',
        });
        if (!noSchedule) {
          this.add('schedule.created', {
            scheduleId: `SCH-${t}-${s}-${c}`,
            sectionId,
            courseId: `CRS-${c}`,
            teacherUserId: teacher,
            dayOfWeek: DAYS[(s + ci) % DAYS.length]!,
            startMinute: 480 + ci * 90,
            endMinute: 570 + ci * 90,
            room: `Room ${s + 1}`,
          });
        }
      });
      // Attendance is marked Monday to Friday, and a mark is refused on a day the section has no lesson
      // (ATTENDANCE_NOT_A_SCHOOL_DAY): the first course takes the week's free day too, after every other slot
      // (they end by 14:00), at the first hour its teacher has no such lesson that day: no new conflict.
      if (!noSchedule)
        for (const [di, dayOfWeek] of DAYS.entries()) {
          if (COURSES.some((_, ci) => (s + ci) % DAYS.length === di)) continue;
          const teacherUserId = `USR-${t}-T${(s * COURSES.length) % this.size.teachers}`;
          const taken = this.lateSlots.get(`${teacherUserId} ${dayOfWeek}`) ?? new Set<number>();
          this.lateSlots.set(`${teacherUserId} ${dayOfWeek}`, taken);
          let startMinute = 480 + COURSES.length * 90;
          while (taken.has(startMinute)) startMinute += 90;
          taken.add(startMinute);
          this.add('schedule.created', {
            scheduleId: `SCH-${t}-${s}-${COURSES[0]}-${dayOfWeek}`,
            sectionId,
            courseId: `CRS-${COURSES[0]}`,
            teacherUserId,
            dayOfWeek,
            startMinute,
            endMinute: startMinute + 90,
            room: `Room ${s + 1}`,
          });
        }
    }
    const students = this.size.sections * this.size.studentsPerSection;
    for (let i = 0; i < students; i++) {
      const id = `USR-${t}-S${i}`;
      this.add('user.created', {
        userId: id,
        userType: 'STUDENT',
        firstName: `Student${i}`,
        lastName: 'Demo',
        email: `student${i}@school.example`,
        phone: null,
        birthDate: '2014-05-03',
        roles: ['STUDENT'],
      });
      if (i % 2 === 0) {
        this.add('user.created', {
          userId: `USR-${t}-P${i}`,
          userType: 'PARENT',
          firstName: `Parent${i}`,
          lastName: 'Demo',
          email: `parent${i}@school.example`,
          phone: null,
          birthDate: null,
          roles: ['PARENT'],
        });
        this.add('student.parent.linked', {
          studentUserId: id,
          parentUserId: `USR-${t}-P${i}`,
          relationship: i % 4 === 0 ? 'MOTHER' : 'FATHER',
        });
      }
      if (i % 97 === 13) this.add('user.deactivated', { userId: id, reason: 'moved away' });
    }
    return this.take();
  }

  /**
   * One enrollment per student into the section of their index; 5 % of them into the first
   * section on top (it overflows: "section full"), and a few for users that do not exist.
   */
  enrollments(): SchoolEvent[] {
    const t = this.tag;
    const students = this.size.sections * this.size.studentsPerSection;
    const enroll = (student: string, sectionId: string): void => {
      const enrollmentId = `ENR-${t}-${String(this.enrollmentIds.length + 1).padStart(6, '0')}`;
      this.enrollmentIds.push(enrollmentId);
      this.add(
        'student.enrolled',
        {
          enrollmentId,
          studentUserId: student,
          sectionId,
          academicYearId: this.year,
          enrollmentDate: '2025-03-03',
          enrollmentType: 'REGULAR',
          previousInstitution: null,
        },
        enrollmentId,
      );
    };
    for (let i = 0; i < students; i++) {
      const section = this.sectionIds[Math.floor(i / this.size.studentsPerSection)]!;
      enroll(`USR-${t}-S${i}`, section);
      const broken = this.sectionIds.slice(-2).includes(section);
      if (i % 97 !== 13 && !broken) this.seated.push({ student: `USR-${t}-S${i}`, section });
    }
    for (let i = 0; i < Math.ceil(students * 0.05); i++) enroll(`USR-${t}-S${(i * 7) % students}`, this.sectionIds[0]!);
    for (let i = 0; i < 3; i++) enroll(`USR-${t}-GHOST${i}`, this.sectionIds[1]!);
    return this.take();
  }

  /** Week `w` of school: daily attendance per seated student, and grades per course. */
  week(w: number): SchoolEvent[] {
    const t = this.tag;
    const monday = Date.UTC(2025, 2, 3) + w * 7 * 86_400_000;
    for (const [k, { student, section }] of this.seated.entries()) {
      const weak = k % 11 === 0; // some students struggle: below-passing alerts
      const absentee = k % 23 === 0; // some miss days: attendance alerts
      for (let d = 0; d < 5; d++) {
        const date = new Date(monday + d * 86_400_000).toISOString().slice(0, 10);
        const r = this.rand();
        const status = absentee && r < 0.5 ? 'ABSENT' : r < 0.03 ? 'ABSENT' : r < 0.08 ? 'LATE' : 'PRESENT';
        this.add('attendance.marked', {
          attendanceId: `ATT-${t}-${k}-${w}-${d}`,
          studentUserId: student,
          sectionId: section,
          date,
          status,
          markedBy: `USR-${t}-T0`,
        });
        if (status === 'LATE')
          this.add('tardiness.recorded', {
            tardinessId: `TRD-${t}-${k}-${w}-${d}`,
            studentUserId: student,
            sectionId: section,
            date,
            minutesLate: 5 + (Math.floor(r * 100) % 20),
            recordedBy: `USR-${t}-T0`,
          });
      }
      for (const c of COURSES) {
        for (let g = 0; g < this.size.gradesPerCoursePerWeek; g++) {
          const score = Math.max(0, Math.min(20, Math.round((weak ? 8 : 14) + (this.rand() - 0.5) * 8)));
          this.add('grade.recorded', {
            gradeId: `GRD-${t}-${k}-${c}-${w}-${g}`,
            studentUserId: student,
            sectionId: section,
            courseId: `CRS-${c}`,
            periodId: `${this.year}-T1`,
            evaluationType: EVALS[(w + g) % EVALS.length]!,
            score,
            maxScore: 20,
            recordedBy: `USR-${t}-T0`,
            comment: null,
          });
        }
      }
    }
    return this.take();
  }
}
