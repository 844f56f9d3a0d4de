/* The worker thread of the compiled core (included once by _bitflip.c, after the streams' work functions).
 *
 * A training step of the harness's small models keeps one CPU core busy (torch's second thread does not shorten it:
 * docs/performance.md), so work that nothing needs at once can run on another core: a stored activation's write,
 * until the backward pass reads it; one data type's stream in the optimizer step while the training thread works on
 * another's; the capture that an error's write in place leaves (Stream.write with `hold`: the next write's
 * candidates and the stored words at them), while the next layer back computes; the failing positions of an
 * every-bit stream and the Bernoulli words of a dense stream's bit-parallel directions, drawn ahead into rings that
 * the calls take them from (Stream.prefetch). Stream.write_later / flip_later queue such a call as a Ticket and
 * return at once; Ticket.wait() gives its result. A left capture is the stream's own job (capture_later), let go of
 * by its next call.
 *
 * The bits are those of the same calls made in order on one thread: one worker thread runs the jobs first in, first
 * out, and any other call on a stream first waits until the worker has run that stream's jobs (enter ->
 * wait_idle). The worker never touches a Python object: a ticket holds references to its stream, slot and the
 * objects whose memory the job reads and writes, and its deallocation waits for the job to finish.
 *
 * A forked child has no worker thread: it starts its own at its first ticket (jobs the parent had queued are not
 * the child's to run, and its copies of their streams, a stream with a capture left to the worker among them, must
 * not be used).
 */
#include <pthread.h>
#include <time.h>

/* After its last job the worker polls for the next one this long before it sleeps. Waking a sleeping thread costs
 * the one that queues the job a system call and, on a virtual machine, an interrupt to the other CPU: about 20 us a
 * job in training here (resnet18-mini, a stored activation every 100 us or so of the forward pass), against 5 us
 * when the worker polls. A forward pass's writes arrive well within it, and so do the captures that the errors'
 * writes leave to it, one a layer back. */
#define SPIN_NS 2000000

enum { JOB_TICKET = 0, JOB_REFILL = 1, JOB_CAPTURE = 2, JOB_BQ = 3 /* + direction */ };

typedef struct Ticket {
    PyObject_HEAD
    Job job;             /* its place in the queue (JOB_TICKET) */
    Stream *s;           /* owned references; slot is NULL for every-bit flips */
    Slot *slot;
    PyObject *hold;      /* owned: what must outlive the job (the tensors whose memory it works on); None once waited */
    Segs g;              /* its segments (allocated by segs_parse, freed at deallocation) */
    int old_mode, keep;
    int64_t k, n01, n10; /* the result: flipped bits (failed switches), by direction */
    int err;             /* out of memory in the job */
    int done;            /* set by the worker (atomic) */
} Ticket;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    Job *head, *tail;
    int started, sleeping, waiters;
    unsigned gen; /* forks so far in this process's line (a refill queued before one never runs in the child) */
} W = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0, 0, 0};

/* ---- positions drawn ahead (Stream.prefetch) ------------------------------------------------------------------
 * An every-bit stream's failing positions do not depend on the data: the process is one increasing run of
 * positions over all the bits the stream ever covers, and a call over bits [at, at + bits) fails at those of them
 * it contains. Drawing them is most of a flip's cost at high rates (2.9 of 3.2 ns a flip, fp32 at 1e-2), so the
 * worker draws them ahead into a ring and the calls only apply them: the same generator, the same draws in the same
 * order, so the same positions. One thread draws at a time: the worker while a refill of the stream is queued or
 * running, else the calling thread itself when the ring runs dry (it waits for a refill under way). The ring is
 * single-producer, single-consumer: the drawer publishes pf_tail, the caller pf_head. */
#define PF_REFILL_BELOW 2 /* a call that leaves the ring less than 1/2 full queues a refill */
#define PF_DRAW 4096      /* positions the calling thread draws at a time when the ring is dry */
#define PF_REFILL 65536   /* positions a refill draws at most (a longer job would hold up the jobs queued after it) */

static int refill_active(const Stream *s) {
    return __atomic_load_n(&s->refilling, __ATOMIC_ACQUIRE) && s->refill_gen == W.gen;
}

/* wait, holding the GIL or not, until `done(arg)` (the worker broadcasts W.done after every job) */
static void wait_until(int (*done)(const void *), const void *arg) {
    if (done(arg)) return;
    pthread_mutex_lock(&W.mu);
    W.waiters++;
    while (!done(arg)) pthread_cond_wait(&W.done, &W.mu);
    W.waiters--;
    pthread_mutex_unlock(&W.mu);
}

static int no_refill(const void *s) { return !refill_active(s); }

/* wait until no refill of s is queued or running */
static void wait_refill(Stream *s) { wait_until(no_refill, s); }

/* the last position drawn (the ring always holds it: a slot is reused only cap draws later) */
static inline int64_t pf_last(const Stream *s) { return s->pf[(s->pf_tail - 1) & (s->pf_cap - 1)]; }

/* draw up to k more positions into the ring (as many as it has room for), by the thread that draws now; a refill
 * (`yield`) stops early when a job is queued behind it (the ring's next call will queue the rest) */
static void pf_draw(Stream *s, int64_t k, int yield) {
    int64_t tail = s->pf_tail, head = __atomic_load_n(&s->pf_head, __ATOMIC_ACQUIRE);
    int64_t room = s->pf_cap - (tail - head), mask = s->pf_cap - 1, last = pf_last(s);
    if (k > room) k = room;
    if (last >= NEVER) k = 0; /* the process never fails again */
    int64_t i = 0;
    while (i < k) {
        last = next_pos(last, draw_gap(&s->rng, &s->geo));
        s->pf[(tail + i++) & mask] = last;
        if (last >= NEVER) break;
        if ((i & 1023) == 0) {
            __atomic_store_n(&s->pf_tail, tail + i, __ATOMIC_RELEASE);
            if (yield && __atomic_load_n(&W.head, __ATOMIC_ACQUIRE)) break;
        }
    }
    __atomic_store_n(&s->pf_tail, tail + i, __ATOMIC_RELEASE);
}

/* a ring's reader with nothing left to read (its tail at `head`) while the worker refills it: take what the worker
 * publishes as soon as it does (a short spin), else wait until the refill (`refilled(arg)`) is over */
static void await_refill(const int64_t *tail, int64_t head, int (*refilled)(const void *), const void *arg) {
    for (int i = 0; i < 4096 && __atomic_load_n(tail, __ATOMIC_ACQUIRE) == head && !refilled(arg); i++) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    if (__atomic_load_n(tail, __ATOMIC_ACQUIRE) == head) wait_until(refilled, arg);
}

/* the calling thread has consumed up to `head`, the whole ring: publish that, then wait for the refill under way or
 * draw more itself; returns the new tail (> head) */
static int64_t pf_more(Stream *s, int64_t head) {
    __atomic_store_n(&s->pf_head, head, __ATOMIC_RELEASE);
    for (;;) {
        int64_t tail = __atomic_load_n(&s->pf_tail, __ATOMIC_ACQUIRE);
        if (tail > head) return tail;
        if (!refill_active(s)) {
            pf_draw(s, PF_DRAW, 0);
            continue;
        }
        await_refill(&s->pf_tail, head, no_refill, s); /* the worker publishes every 1024 positions */
    }
}

/* the next failing position (absolute), drawing or waiting for it if need be */
static int64_t pf_peek(Stream *s) {
    int64_t head = s->pf_head;
    if (__atomic_load_n(&s->pf_tail, __ATOMIC_ACQUIRE) == head) pf_more(s, head);
    return s->pf[head & (s->pf_cap - 1)];
}

static void pf_release(Stream *s) {
    if (!s->pf) return;
    wait_refill(s);
    PyMem_RawFree(s->pf);
    s->pf = NULL;
}

/* ---- Bernoulli words drawn ahead (Stream.prefetch on a dense stream) ------------------------------------------
 * A bit-parallel direction's Bernoulli words do not depend on the data either: one run of groups of four words
 * from the direction's lanes, of which a write takes as many groups as its switching bits need (drawn at most 256
 * bits ahead of them, and what is left of a block's last group dropped: _bitflip_dense.h). Drawing them is about a
 * quarter of a dense write at high rates (bf16 at 8e-2: 1.40 -> 1.07 ns a word without them), so the worker draws
 * them ahead into a ring and the writes take them from it: the same lanes, the same groups in the same order. The
 * same single-producer, single-consumer protocol as the positions' ring above: the drawer publishes bq_tail[d],
 * the writer bq_head[d]; one thread draws at a time. */
#define BQ_DRAW 64      /* groups the writing thread draws at a time when the ring is dry */
#define BQ_REFILL 16384 /* groups a refill draws at most */
#define BQ_CHUNK 256    /* groups drawn between two publications of the tail */

static int bq_refill_active(const Stream *s, int d) {
    return __atomic_load_n(&s->bq_refilling[d], __ATOMIC_ACQUIRE) && s->bq_gen[d] == W.gen;
}

typedef struct { const Stream *s; int d; } BqRef;
static int bq_no_refill(const void *r) { return !bq_refill_active(((const BqRef *)r)->s, ((const BqRef *)r)->d); }

/* draw up to k more groups into direction d's ring (as many as it has room for), by the thread that draws now; a
 * refill (`yield`) stops early when a job is queued behind it */
static void bq_draw(Stream *s, int d, int64_t k, int yield) {
    const int64_t tail = s->bq_tail[d], head = __atomic_load_n(&s->bq_head[d], __ATOMIC_ACQUIRE);
    const int64_t room = s->bq_cap - (tail - head);
    if (k > room) k = room;
    int64_t i = 0;
    while (i < k) {
        const int64_t at = (tail + i) & (s->bq_cap - 1);
        int64_t m = k - i < BQ_CHUNK ? k - i : BQ_CHUNK;
        if (m > s->bq_cap - at) m = s->bq_cap - at; /* up to the ring's end */
        BERN_FN[dense_isa](&s->bpg[d], s->dig[d], s->bq[d] + 4 * at, m);
        i += m;
        __atomic_store_n(&s->bq_tail[d], tail + i, __ATOMIC_RELEASE);
        if (yield && __atomic_load_n(&W.head, __ATOMIC_ACQUIRE)) break;
    }
}

/* the writing thread has taken the groups up to `head`, the whole ring: publish that, then wait for the refill
 * under way or draw more itself; returns the new tail (> head) */
static int64_t bq_more(Stream *s, int d, int64_t head) {
    __atomic_store_n(&s->bq_head[d], head, __ATOMIC_RELEASE);
    const BqRef ref = {s, d};
    for (;;) {
        const int64_t tail = __atomic_load_n(&s->bq_tail[d], __ATOMIC_ACQUIRE);
        if (tail > head) return tail;
        if (!bq_refill_active(s, d)) {
            bq_draw(s, d, BQ_DRAW, 0);
            continue;
        }
        await_refill(&s->bq_tail[d], head, bq_no_refill, &ref); /* the worker publishes every BQ_CHUNK groups */
    }
}

static void bq_release(Stream *s) {
    for (int d = 0; d < 2; d++) {
        if (!s->bq[d]) continue;
        const BqRef ref = {s, d};
        wait_until(bq_no_refill, &ref);
        PyMem_RawFree(s->bq[d]);
        s->bq[d] = NULL;
    }
}

static void run_job(Ticket *t) {
    Stream *s = t->s;
    int64_t bits = t->g.words << s->shift;
    if (!t->slot) {
        t->k = flip_work(s, &t->g, bits);
        if (t->k < 0) t->err = 1, t->k = 0;
    } else {
        t->k = write_work(s, t->slot, &t->g, bits, t->old_mode, t->keep, &t->err, NULL);
        t->n01 = s->n01;
        t->n10 = s->n10;
    }
}

/* the capture a write left to the worker (capture_later) */
static void capture_job(Stream *s) {
    s->cap_err = capture(s, s->cap_slot, &s->cap_g, s->cap_g.words << s->shift, s->cap_from_dst) != 0;
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* poll W.head (without the lock) for up to SPIN_NS; whether a job came */
static int spin_for_work(void) {
    int64_t end = now_ns() + SPIN_NS;
    for (;;) {
        for (int i = 0; i < 256; i++) {
            if (__atomic_load_n(&W.head, __ATOMIC_ACQUIRE)) return 1;
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
        if (now_ns() >= end) return 0;
    }
}

static void *worker_main(void *unused) {
    pthread_mutex_lock(&W.mu);
    for (;;) {
        if (!W.head) {
            pthread_mutex_unlock(&W.mu);
            spin_for_work();
            pthread_mutex_lock(&W.mu);
        }
        while (!W.head) {
            W.sleeping = 1;
            pthread_cond_wait(&W.work, &W.mu);
            W.sleeping = 0;
        }
        Job *j = W.head;
        __atomic_store_n(&W.head, j->next, __ATOMIC_RELAXED);
        if (!W.head) W.tail = NULL;
        pthread_mutex_unlock(&W.mu);
        if (j->kind == JOB_TICKET) {
            Ticket *t = (Ticket *)((char *)j - offsetof(Ticket, job));
            run_job(t);
            pthread_mutex_lock(&W.mu);
            __atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
            __atomic_sub_fetch(&t->s->pending, 1, __ATOMIC_RELEASE);
        } else if (j->kind == JOB_CAPTURE) {
            Stream *s = (Stream *)((char *)j - offsetof(Stream, capjob));
            capture_job(s);
            pthread_mutex_lock(&W.mu);
            __atomic_sub_fetch(&s->pending, 1, __ATOMIC_RELEASE);
        } else if (j->kind >= JOB_BQ) {
            const int d = j->kind - JOB_BQ;
            Stream *s = (Stream *)((char *)j - offsetof(Stream, bq_job) - (size_t)d * sizeof(Job));
            bq_draw(s, d, BQ_REFILL, 1);
            pthread_mutex_lock(&W.mu);
            __atomic_store_n(&s->bq_refilling[d], 0, __ATOMIC_RELEASE);
        } else {
            Stream *s = (Stream *)((char *)j - offsetof(Stream, refill));
            pf_draw(s, PF_REFILL, 1);
            pthread_mutex_lock(&W.mu);
            __atomic_store_n(&s->refilling, 0, __ATOMIC_RELEASE);
        }
        if (W.waiters) pthread_cond_broadcast(&W.done);
    }
    return NULL;
}

static void worker_forget(void) { /* in a forked child (pthread_atfork) */
    pthread_mutex_init(&W.mu, NULL);
    pthread_cond_init(&W.work, NULL);
    pthread_cond_init(&W.done, NULL);
    W.head = W.tail = NULL;
    W.started = W.sleeping = W.waiters = 0;
    W.gen++;
}

/* queue j (GIL held); -1 with an exception if the thread cannot be started */
static int submit(Job *j) {
    pthread_mutex_lock(&W.mu);
    if (!W.started) {
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&th, &at, worker_main, NULL);
        pthread_attr_destroy(&at);
        if (rc) {
            pthread_mutex_unlock(&W.mu);
            PyErr_Format(PyExc_RuntimeError, "cannot start the injection worker thread (error %d)", rc);
            return -1;
        }
        W.started = 1;
    }
    j->next = NULL;
    if (W.tail) W.tail->next = j;
    else __atomic_store_n(&W.head, j, __ATOMIC_RELEASE);
    W.tail = j;
    if (W.sleeping) pthread_cond_signal(&W.work);
    pthread_mutex_unlock(&W.mu);
    return 0;
}

/* wait_until without the GIL (the GIL held on entry) */
static void wait_nogil(int (*done)(const void *), const void *arg) {
    if (done(arg)) return;
    Py_BEGIN_ALLOW_THREADS
    wait_until(done, arg);
    Py_END_ALLOW_THREADS
}

static int idle(const void *s) { return !__atomic_load_n(&((const Stream *)s)->pending, __ATOMIC_ACQUIRE); }
static int ran(const void *t) { return __atomic_load_n(&((const Ticket *)t)->done, __ATOMIC_ACQUIRE); }

static void wait_idle(Stream *s) { wait_nogil(idle, s); }
static void ticket_wait(Ticket *t) { wait_nogil(ran, t); }

static void Ticket_dealloc(Ticket *t) {
    if (t->s) ticket_wait(t); /* the worker may still use it */
    segs_free(&t->g);
    Py_XDECREF(t->s);
    Py_XDECREF(t->slot);
    Py_XDECREF(t->hold);
    Py_TYPE(t)->tp_free((PyObject *)t);
}

static PyObject *Ticket_wait(Ticket *t, PyObject *unused) {
    ticket_wait(t);
    Py_CLEAR(t->hold); /* the job is done with their memory */
    if (t->err) return PyErr_NoMemory();
    return PyLong_FromLongLong(t->k);
}

static PyObject *Ticket_done(Ticket *t, void *c) {
    return PyBool_FromLong(__atomic_load_n(&t->done, __ATOMIC_ACQUIRE));
}
static PyObject *Ticket_n01(Ticket *t, void *c) { ticket_wait(t); return PyLong_FromLongLong(t->n01); }
static PyObject *Ticket_n10(Ticket *t, void *c) { ticket_wait(t); return PyLong_FromLongLong(t->n10); }

static PyMethodDef Ticket_methods[] = {
    {"wait", (PyCFunction)Ticket_wait, METH_NOARGS,
     "wait() -> int\n\nWait for the job; its flipped bits (flip) or failed switches (write)."},
    {NULL}};

static PyGetSetDef Ticket_getset[] = {
    {"done", (getter)Ticket_done, NULL, "whether the worker has run the job", NULL},
    {"n01", (getter)Ticket_n01, NULL, "failed 0 -> 1 switches of a write (waits for it)", NULL},
    {"n10", (getter)Ticket_n10, NULL, "failed 1 -> 0 switches of a write (waits for it)", NULL},
    {NULL}};

static PyTypeObject TicketType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "archsim.accuracy._bitflip.Ticket",
    .tp_basicsize = sizeof(Ticket),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A call of a stream queued on the worker thread (Stream.write_later, Stream.flip_later).",
    .tp_dealloc = (destructor)Ticket_dealloc,
    .tp_methods = Ticket_methods,
    .tp_getset = Ticket_getset,
};

/* a ticket for stream s over the parsed segments g (taken over), every destination given */
static PyObject *queue_job(Stream *s, Slot *slot, Segs *g, int old_mode, int keep, PyObject *hold) {
    if (!segs_have_dst(g)) {
        segs_free(g);
        PyErr_SetString(PyExc_ValueError, "a call on the worker needs every destination");
        return NULL;
    }
    if (in_use(s, slot)) { /* (queued behind the stream's jobs: no wait for them) */
        segs_free(g);
        return NULL;
    }
    Ticket *t = PyObject_New(Ticket, &TicketType);
    if (!t) { segs_free(g); return NULL; }
    t->job.kind = JOB_TICKET;
    segs_move(&t->g, g);
    t->s = (Stream *)Py_NewRef((PyObject *)s);
    t->slot = slot ? (Slot *)Py_NewRef((PyObject *)slot) : NULL;
    t->hold = Py_NewRef(hold);
    t->old_mode = old_mode;
    t->keep = keep;
    t->k = t->n01 = t->n10 = 0;
    t->err = t->done = 0;
    __atomic_add_fetch(&s->pending, 1, __ATOMIC_RELAXED);
    if (submit(&t->job)) {
        __atomic_sub_fetch(&s->pending, 1, __ATOMIC_RELAXED);
        t->done = 1; /* never queued */
        Py_DECREF(t);
        return NULL;
    }
    return (PyObject *)t;
}

static PyObject *Stream_write_later(Stream *s, PyObject *args, PyObject *kw) {
    WriteArgs a;
    if (write_args(s, args, kw, "write_later", &a)) return NULL;
    return queue_job(s, a.slot, &a.g, a.old_mode, a.keep, a.hold);
}

static PyObject *Stream_flip_later(Stream *s, PyObject *args, PyObject *kw) {
    static char *kws[] = {"src", "dst", "n", "scale", "hold", NULL};
    PyObject *src, *dst, *n, *scale = Py_None, *hold = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOO|OO", kws, &src, &dst, &n, &scale, &hold)) return NULL;
    Segs g;
    if (segs_parse(&g, src, dst, n, scale)) return NULL;
    return queue_job(s, NULL, &g, 0, 0, hold);
}

/* Queue the capture that a sparse write with `hold` (Stream.write) left: the next write's candidates and the stored
 * words at them, from the write's destination (from_dst) or source, into slot -- the same draws as the write would
 * have made right after its own, since every other call on the stream waits for it. The stream keeps slot, hold and
 * g (taken over) until a call lets them go (capture_release). Where no worker thread can start, it is made here. */
static void capture_later(Stream *s, Slot *slot, Segs *g, int from_dst, PyObject *hold) {
    segs_move(&s->cap_g, g);
    s->cap_slot = (Slot *)Py_NewRef((PyObject *)slot);
    s->cap_hold = Py_NewRef(hold);
    s->cap_from_dst = from_dst;
    s->cap_err = 0;
    s->capjob.kind = JOB_CAPTURE;
    __atomic_add_fetch(&s->pending, 1, __ATOMIC_RELAXED);
    if (submit(&s->capjob)) {
        PyErr_Clear();
        __atomic_sub_fetch(&s->pending, 1, __ATOMIC_RELAXED);
        capture_job(s);
    }
}

/* after a dense write on the calling thread: queue a refill of each ring of Bernoulli words that runs low and has
 * none under way (GIL held) */
static void bq_kick(Stream *s) {
    for (int d = 0; d < 2; d++) {
        if (!s->bq[d] || bq_refill_active(s, d)) continue;
        if ((s->bq_tail[d] - __atomic_load_n(&s->bq_head[d], __ATOMIC_ACQUIRE)) * PF_REFILL_BELOW >= s->bq_cap)
            continue;
        s->bq_gen[d] = W.gen;
        __atomic_store_n(&s->bq_refilling[d], 1, __ATOMIC_RELEASE);
        s->bq_job[d].kind = JOB_BQ + d;
        if (submit(&s->bq_job[d])) { /* no thread: the writes draw for themselves */
            __atomic_store_n(&s->bq_refilling[d], 0, __ATOMIC_RELEASE);
            PyErr_Clear();
        }
    }
}

/* after a call on the calling thread: queue a refill where the ring runs low and none is under way (GIL held) */
static void pf_kick(Stream *s) {
    if (!s->pf || refill_active(s) || pf_last(s) >= NEVER) return;
    if ((s->pf_tail - s->pf_head) * PF_REFILL_BELOW >= s->pf_cap) return;
    s->refill_gen = W.gen;
    __atomic_store_n(&s->refilling, 1, __ATOMIC_RELEASE);
    s->refill.kind = JOB_REFILL;
    if (submit(&s->refill)) { /* no thread: the calls draw for themselves */
        __atomic_store_n(&s->refilling, 0, __ATOMIC_RELEASE);
        PyErr_Clear();
    }
}

static PyObject *Stream_prefetch(Stream *s, PyObject *arg) {
    long long cap = PyLong_AsLongLong(arg);
    if (cap == -1 && PyErr_Occurred()) return NULL;
    if (cap < 1024 || cap > (1LL << 30) || (cap & (cap - 1))) {
        PyErr_SetString(PyExc_ValueError, "the ring's size must be a power of two from 1024 to 2^30");
        return NULL;
    }
    if (s->dense) { /* its bit-parallel directions' Bernoulli words */
        if (!s->bp[0] && !s->bp[1]) {
            PyErr_SetString(PyExc_ValueError, "only every-bit streams and dense streams with a bit-parallel direction "
                                              "draw ahead");
            return NULL;
        }
        if (s->bq[0] || s->bq[1]) Py_RETURN_NONE;
        if (ready(s, NULL)) return NULL; /* after the stream's queued jobs */
        uint64_t *q[2] = {NULL, NULL};
        for (int d = 0; d < 2; d++)
            if (s->bp[d] && !(q[d] = PyMem_RawMalloc((size_t)cap * 4 * sizeof(uint64_t)))) {
                PyMem_RawFree(q[0]);
                return PyErr_NoMemory();
            }
        s->bq_cap = cap;
        for (int d = 0; d < 2; d++) {
            s->bq_head[d] = s->bq_tail[d] = 0;
            s->bq_refilling[d] = 0;
            s->bq[d] = q[d];
        }
        bq_kick(s);
        Py_RETURN_NONE;
    }
    if (s->p01 != 0.0 || s->p10 != 0.0) {
        PyErr_SetString(PyExc_ValueError, "only every-bit streams and dense streams with a bit-parallel direction "
                                          "draw ahead");
        return NULL;
    }
    if (s->pf) Py_RETURN_NONE;
    if (ready(s, NULL)) return NULL; /* after the stream's queued jobs */
    int64_t *pf = PyMem_RawMalloc((size_t)cap * sizeof(int64_t));
    if (!pf) return PyErr_NoMemory();
    /* the position already drawn (the next failing bit, `gap` bits on) opens the ring; the draws go on from it */
    pf[0] = s->gap >= NEVER ? NEVER : s->gap;
    s->pf_cap = cap;
    s->pf_head = s->at = 0;
    s->pf_tail = 1;
    s->refilling = 0;
    s->pf = pf;
    pf_kick(s);
    Py_RETURN_NONE;
}
