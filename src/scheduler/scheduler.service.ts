import { Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { JobEventBus, type ClusterSignal, type JobEvent } from '../events/job-event-bus.js';
import { JobLifecycleService } from '../jobs/job-lifecycle.service.js';
import { Metrics } from '../metrics/metrics.js';
import { eventEffects, signalEffects } from './domain/scheduling.js';
import { DueTimer } from './due-timer.js';
import { FlowControlState } from './flow-control-state.js';
import { LeaderElection } from '../leadership/leader-election.js';
import { PlacementPass } from './placement-pass.js';
import { Reconciler } from './reconciler.js';
import { SchedulerTasks } from './scheduler-tasks.js';
import { WorkerRooms } from './worker-rooms.js';

/**
 * The scheduler (DESIGN §4), active only in the elected leader: promotes due retries and delayed
 * jobs (DueTimer), places ready jobs (PlacementPass: priority, then age; best fit; starvation guard;
 * the queue rules), hands them to their workers (HandOver), keeps waiting reasons current, and
 * repairs lost work and placements that never started (Reconciler, LostWorkReaper). It reacts to
 * events within milliseconds; the periodic sweep is the safety net. Its placements are fenced by the
 * leadership epoch (LeaderElection), so a leader deposed without knowing it yet places nothing.
 *
 * This class owns the leadership loop: it starts and stops the parts as leadership comes and goes,
 * and routes the job events and cluster signals to them.
 */
@Injectable()
export class SchedulerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private unsubscribe: Array<() => void> = [];

  constructor(
    private readonly leader: LeaderElection,
    private readonly bus: JobEventBus,
    private readonly metrics: Metrics,
    private readonly tasks: SchedulerTasks,
    private readonly rooms: WorkerRooms,
    private readonly flow: FlowControlState,
    private readonly pass: PlacementPass,
    private readonly due: DueTimer,
    private readonly reconciler: Reconciler,
    private readonly lifecycle: JobLifecycleService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // A completion here offers the ready dependents it released to the placement pass (PlacementPass.claim).
    this.lifecycle.startReleasedWith(this.pass);
    this.unsubscribe.push(this.bus.subscribe((event) => this.onEvent(event)));
    this.unsubscribe.push(this.bus.onSignal((signal) => this.onSignal(signal)));
    this.leader.onChange((leader) => (leader ? this.lead() : this.stepDown()));
    await this.leader.start();
  }

  /**
   * Stops before any onApplicationShutdown hook runs (the database pool closes in one of them): no new
   * pass or sweep starts, the ones under way finish, then leadership is given up.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.tasks.stop();
    for (const off of this.unsubscribe) off();
    this.stepDown();
    await this.tasks.drain();
    await this.leader.stop();
  }

  isLeader(): boolean {
    return this.leader.isLeader();
  }

  /** Asks for a placement pass soon; calls made meanwhile share it. */
  kick(): void {
    this.pass.kick();
  }

  private lead(): void {
    this.metrics.schedulerLeader.set(1);
    this.rooms.markAllStale();
    this.flow.takeOver();
    this.pass.reasonsNow(); // the reasons another term wrote are rewritten at the first pass
    this.reconciler.start();
  }

  private stepDown(): void {
    this.metrics.schedulerLeader.set(0);
    // The leader's own view: left as they stood, they would go on showing bookings and holds the next
    // leader alone keeps (an alert on draconic_queue_held firing after every leader change). takeOver
    // publishes them again at the next term's first pass.
    this.metrics.workerCapacity.reset();
    this.metrics.workerAllocated.reset();
    this.metrics.queueHeld.reset();
    this.reconciler.stop();
    this.due.stop();
    this.pass.stop();
  }

  private onEvent(event: JobEvent): void {
    if (!this.leader.isLeader()) return;
    const effects = eventEffects(event);
    if (effects.release) this.rooms.ledger.release(event.jobId, typeof event.data.attempt === 'number' ? event.data.attempt : undefined);
    if (effects.startedAt !== null) this.flow.started(event.jobId, effects.startedAt);
    if (effects.ledgerStale) this.rooms.ledger.stale = true;
    if (effects.dueAt !== null) this.due.arm(effects.dueAt);
    if (effects.readyType !== null) this.flow.arrivedReady(event.jobId, effects.readyType);
    if (effects.kick) this.pass.kickFor(event.jobId);
  }

  private onSignal(signal: ClusterSignal): void {
    if (!this.leader.isLeader()) return;
    const effects = signalEffects(signal);
    if (effects.workers) this.rooms.markWorkersStale();
    if (effects.ledger) this.rooms.ledger.stale = true;
    if (effects.rules) {
      this.flow.markStale();
      this.pass.reasonsNow(); // the reasons of the type's jobs change now, not at the next refresh
    }
    if (effects.kick) this.pass.kick();
  }
}
