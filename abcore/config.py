"""One place for the engine's defaults.

Pages, the plan object and the statistics all read their defaults from here, so changing a
default (say, the SRM threshold) changes it everywhere at once.
"""

from __future__ import annotations

import os
from typing import Final, Literal

Alternative = Literal["two-sided", "greater", "less"]
RelativeCI = Literal["fieller", "log", "delta"]
Correction = Literal["holm", "bonferroni", "bh", "none"]

ALTERNATIVES: Final[tuple[str, ...]] = ("two-sided", "greater", "less")
RELATIVE_CI_METHODS: Final[tuple[str, ...]] = ("fieller", "log", "delta")
CORRECTIONS: Final[tuple[str, ...]] = ("holm", "bonferroni", "bh", "none")

ALPHA: Final = 0.05
POWER: Final = 0.8
ALTERNATIVE: Final[Alternative] = "two-sided"
RELATIVE_CI: Final[RelativeCI] = "fieller"
CORRECTION: Final[Correction] = "holm"

SRM_THRESHOLD: Final = 0.001
"""p-value below which a sample ratio mismatch fails the experiment (Kohavi's 0.001)."""
SRM_WARN_THRESHOLD: Final = 0.05
"""p-value below which a sample ratio mismatch is worth a warning but not a failure."""

GUARDRAIL_MARGIN: Final = 0.02
"""Harm a new guardrail may show and still pass (2% worse, relative) until the user sets it."""

DAILY_UNITS: Final = 20_000
EXPOSURE: Final = 1.0
MIN_DAYS: Final = 7
WEEK: Final = 7

CURVE_POINTS: Final = 200
"""Points on each planning curve: one vectorised call computes them all."""

DEMO_SEED: Final = 20260302

# Ingestion (abcore.ingest): DuckDB settings and schema-detection thresholds.
DUCKDB_MEMORY_LIMIT: Final = "2GB"
"""Memory a library connection (``ingest.connect()`` in a notebook, ``abcore.analyze``, the
bench) may use before it spills to its temporary directory. The app's browser sessions get
their share of the host instead (see "Hosting" below)."""
DUCKDB_THREADS: Final = 2
"""Threads of a library connection; the app's sessions get their share of the cores."""
INGEST_MAX_COLUMNS: Final = 1000
"""Files with more columns are refused: an experiment export needs a handful, not thousands.
A CSV's header is counted before the file is parsed."""
INGEST_MAX_LINE_BYTES: Final = 2**20
"""Longest line a CSV may have (1 MB: a row of 1,000 columns of 1,000 characters each).
Longer lines are refused before the parse, with the line's number and length."""
INGEST_SCAN_BYTES: Final = 256 * 2**20
"""Bytes of a CSV scanned for line length before the parse (every upload is smaller; a larger
file read in place is scanned this far, and DuckDB's own line limit catches the rest)."""
VARIANT_MAX_LEVELS: Final = 10
"""Most arms a column may have to be proposed as the variant column."""
SEGMENT_MAX_LEVELS: Final = 20
"""Most distinct values a text column may have to be proposed as a segment."""
CONTROL_LABELS: Final[tuple[str, ...]] = (
    "control",
    "ctrl",
    "baseline",
    "base",
    "a",
    "off",
    "0",
    "false",
    "old",
    "default",
    "original",
    "holdout",
    "none",
    "psa",
    "placebo",
    "c",
)
"""Arm labels taken as the control, in order of preference (case-insensitive); arms named
"No …", "none" or holding a word such as old, holdout or default come next
(:func:`abcore.ingest.findings.control_by_name`)."""
CONTROL_LARGEST_RATIO: Final = 1.25
"""With no arm named like a control, the largest arm is taken as the control only when it has
this many times the rows of the next (a holdout design); arms of about equal size say
nothing, and the first in natural order is taken (gate_30 before gate_40)."""
ARM_PROXY_MAX_MISMATCH: Final = 0.05
"""A column whose value is the arm's own on all but this share of rows restates the arm
(``landing_page`` in ab_data.csv): it is never offered as a segment."""
ARM_PROXY_MIN_ROWS: Final = 50
"""Rows each arm needs before a column can be said to restate the arm: in a handful of rows
an outcome can follow the arms by chance."""
COUNT_PAIRS_MAX_COLUMNS: Final = 6
"""Count data with at most this many count columns gets every bounded pair offered as a
metric (Payments/Clicks and Payments/Enrollments); with more, each count only over the
smallest count that bounds it, so a wide export does not become hundreds of metrics."""

# Funnel (abcore.funnel, the Metrics page).
FUNNEL_WINDOW_DAYS: Final = 7.0
"""Days after entering the funnel within which a unit must reach each later stage."""
FUNNEL_MDE: Final = 0.05
"""Target relative lift on a funnel stage when the plan has none."""
RANDOMIZATION_UNITS: Final[tuple[str, ...]] = ("user", "session", "search", "page view", "cluster")
AGGREGATED_MAX_ROWS: Final = 100_000
"""Files with more rows are never guessed to be per-arm aggregates (only named columns say so)."""

AA_SIMULATIONS: Final = 1_000
"""Re-randomizations of the control arm in the simulated A/A."""

# Results page: limits on columns a user maps by hand (detection never proposes such columns).
RESULTS_MAX_DAYS: Final = 400
"""Most distinct days a date column may have: more means it is not an exposure date."""
RESULTS_MAX_SEGMENT_VALUES: Final = 50
"""Most distinct values a segment column may have: beyond that the breakdown is noise."""

# Share links and plan files are untrusted input (abcore.limits): what a payload may hold.
# The page widgets and uploads use the same numbers, so a plan made on a page always reads.
PLAN_LINK_MAX_BYTES: Final = 200_000
"""Most bytes a plan link or plan JSON may hold once inflated. A real plan is 1-5 kB (the
demo: 1.0 kB); the limits below allow about 130 kB (50 metrics with 200-character names and a
20,000-character hypothesis, all in 4-byte characters)."""
RESULTS_LINK_MAX_BYTES: Final = 500_000
"""Most bytes a results link may hold once inflated. The demo's is 13 kB, ab_data's 3.8 kB;
two arms over the 400 days an upload may have, with three metrics, come to about 250 kB."""
LINK_MAX_CHARS: Final = 500_000
"""Most characters of a link's packed (deflated, base64) value read before inflating it:
deflate shrinks a payload's JSON, so a link within the byte limits is shorter than this."""
PAYLOAD_MAX_DEPTH: Final = 12
"""Deepest nesting of lists and objects a payload may have (a plan or results link needs 5)."""
NAME_MAX_CHARS: Final = 200
"""Longest name (experiment, metric, arm, column, segment, unit) a plan or link may carry."""
TEXT_MAX_CHARS: Final = 20_000
"""Longest free text (the hypothesis) a plan may carry: more than the generated hypothesis of
a plan with the most metrics and the longest names."""
PLAN_MAX_METRICS: Final = 50
"""Most metrics (success, secondary, guardrails) a plan may list."""
PLAN_MAX_ARMS: Final = 10
"""Most arms (control included) a plan may split traffic over: the Plan page offers up to
nine (eight treatments) and uploads propose at most ``VARIANT_MAX_LEVELS`` arms."""
PLAN_MAX_TREATMENTS: Final = 8
"""Most treatment arms the Plan page offers."""
PLAN_MAX_LOOKS: Final = 12
"""Most planned looks of a group-sequential plan read from a link or file, as the Plan page
allows (the engine itself accepts ``SEQUENTIAL_MAX_LOOKS`` in a notebook)."""
PLAN_MAX_DAILY_UNITS: Final = 10_000_000_000
"""Most daily eligible units a plan may state (ten billion); at least one a day."""
PLAN_MIN_SHARE: Final = 0.001
"""Smallest expected share of traffic an arm may have in a plan (0.1%, the smallest the
Results page's expected-share inputs take)."""
CUPED_MAX_RHO: Final = 0.95
"""Highest pre-period correlation the Plan page offers for CUPED."""
PLAN_MAX_VARIANCE_REDUCTION: Final = round(CUPED_MAX_RHO**2, 6)
"""Largest share of variance a plan may expect CUPED to remove (rho = 0.95)."""
SPENDING_MAX_RHO: Final = 10.0
"""Largest exponent of the power alpha-spending family a plan may use."""
NUMBER_MAX_ABS: Final = 1e12
"""Largest magnitude of a baseline, standard deviation, effect or margin a plan may state."""
SAMPLE_SIZE_MAX: Final = 10**14
"""Most units per arm a size may be: beyond it a size is reported infeasible, not computed
(integer arithmetic of larger sizes wraps around). Ten billion units a day for 27 years."""
PLAN_HORIZON_WEEKS: Final = 261
"""Longest test a plan may need: five years of its traffic. A plan needing more is reported
as infeasible, with what would make it feasible (a larger effect, more traffic)."""
PLAN_HORIZON_DAYS: Final = PLAN_HORIZON_WEEKS * WEEK
FUNNEL_MAX_STAGES: Final = 50
"""Most stages a plan's funnel (the Metrics page's, kept in the plan) may have."""
FUNNEL_MAX_LIFT: Final = 5.0
"""Largest target lift on a funnel stage (+500%, as the Metrics page allows)."""
LINK_MAX_METRICS: Final = 100
"""Most metrics a results link may carry."""
MAX_COVARIATES: Final = 10
"""Covariates of one regression-adjusted metric: each adds a column to every cell and its
cross-products grow as their square (10 on a mean: 78 moment columns per metric), and more
rarely reduce the variance further than the best few."""
CAPPING_MAX_ABS: Final = 1e15
"""Largest absolute capping bound (either sign): beyond any amount a metric holds, and small
enough that its square stays finite; a link's bound outside it is refused."""
CAPPING_PERCENTILES: Final = (99.0, 99.9)
"""The pooled upper percentiles the Results page's one-click shortcut offers."""
LINK_MAX_SEGMENTS: Final = 20
"""Most segment columns a results link may carry."""
LINK_MAX_ROWS: Final = 20_000
"""Most rows of statistics a results link may carry (arms x (1 + days + segment values))."""
PREP_MAX_FILTERS: Final = 5
"""Row filters the Results page's data preparation offers (combined with AND)."""
PREP_MAX_STEPS: Final = 20
"""Most data-preparation steps a results link may carry (the page offers at most ten)."""
PREP_MAX_VALUES: Final = 100
"""Most values one "in list" row filter may keep."""
LINK_MAX_CHECKS: Final = 200
"""Most row-level checks (instrumentation: units in two arms, duplicates, missing and
impossible values) a results link may carry: a few per metric."""
LINK_MAX_NOTES: Final = 1_000
"""Most date notes (holiday, outage...) a results link may carry."""
RESULTS_MIN_ALPHA: Final = 0.001
RESULTS_MAX_ALPHA: Final = 0.5
"""Range of the significance level the Results page offers (and a results link may carry)."""

# Ingestion of large files (abcore.ingest): how much to read before deciding.
INGEST_TYPE_CHECK_ROWS: Final = 10_000
"""First rows that must hold only TRUE/FALSE, number or NA tokens before a text column is
scanned in full for conversion to booleans or numbers (ids and arm names fail at once)."""
INGEST_SAMPLE_ROWS: Final = 100_000
"""A file read in place (``load(materialize=False)``, as ``abcore.analyze`` does) with more
rows than this is profiled for schema detection on its first this many rows; smaller files
are copied into a table."""
SHIFT_MEAN_OVER_SD: Final = 1_000.0
"""An amount whose mean (on the first rows) exceeds this many standard deviations has its
sums taken around that mean: raw sums of squares lose (mean / sd)**2 times the machine's
precision of its variance, a 1e-10 share at 1,000 sd, all of it beyond 1e8 (timestamps in
milliseconds). Below it the sums stay plain, with no cost to the scan."""
STATS_MAX_CELLS: Final = 100_000
"""Most arm x day x segment cells (estimated) for which the statistics are summed per cell
first and rolled up to the overall, daily and segment levels (twice as fast as grouping each
level from the rows); beyond it each level is grouped from the rows."""
UNIT_CHECK_SAMPLE: Final = 100_000
"""Units (about) whose ids are checked for repeats, and for being in two arms, while the
statistics of a large file read in place are computed: a 64-bit hash of the id picks them, so
each unit is in or out of the sample whatever its rows, and a leak touching a fraction f of
the units is missed with probability about exp(-f x this): 0.7% at f = 0.005%. Only when the
sample finds a repeat are all the ids counted (an exact, second scan: the counts reported are
then exact). Files copied into a table (the Results page) are always checked in full."""

# --------------------------------------------------------------------------------------------
# Model launch (abcore.launch: interleaving, canary, drift; the Model launch page)
# --------------------------------------------------------------------------------------------

INTERLEAVING_LABELS: Final[tuple[str, str]] = ("A", "B")
"""How an interleaving log names the two rankers' credit (the page lets the user pick others)."""
INTERLEAVING_PREFERENCE: Final = 0.02
"""Preference share (Delta, from -0.5 to 0.5) the interleaving sizing aims to detect when the
user gives none: Chapelle et al. (2012) report most real ranker pairs between 0.01 and 0.05."""
INTERLEAVING_AB_LIFT: Final = 0.01
"""Relative lift on the per-user click rate that the equivalent A/B test is sized for (1%:
Chapelle et al. 2012 found A/B differences between production rankers mostly below that)."""
INTERLEAVING_MAX_CREDIT_LEVELS: Final = 5
"""Most distinct values a credit column may have: A, B and a few spellings of 'no click'."""

CANARY_CONFIDENCE: Final = 0.98
"""Confidence of the Hodges-Lehmann interval: NetflixACAJudge classifies with the Mann-Whitney
interval at confLevel 0.98 (spinnaker/kayenta, NetflixACAJudge.scala)."""
CANARY_TOLERANCE: Final = 0.05
"""Relative shift (of the baseline median) a metric may move and still pass. Kayenta's default
effect-size gate (allowedIncrease/allowedDecrease 1.0 on the mean ratio) fails any significant
move; per-minute samples of a busy service make tiny moves significant, hence 5%."""
CANARY_PASS_SCORE: Final = 95.0
"""Score at or above which the canary is promoted (Kayenta's scoreThresholds.pass 95)."""
CANARY_MARGINAL_SCORE: Final = 75.0
"""Score below which the canary is rolled back; between it and the pass score: hold (Kayenta's
scoreThresholds.marginal 75)."""
SHADOW_DECISION_THRESHOLD: Final = 0.5
"""Score at which a numeric model output becomes a positive decision, for the agreement rate."""
SHADOW_TOP_DISAGREEMENTS: Final = 10
"""Requests listed where the current and the new model disagree most."""
RAMP_STEPS: Final[tuple[float, ...]] = (0.01, 0.05, 0.25, 0.5)
"""Traffic shares of a canary ramp."""
RAMP_GUARDRAIL_HARM: Final = 0.10
"""Relative harm on the guardrail each ramp step must be able to detect (+10%)."""

DRIFT_SMALL_N: Final = 1000
"""Evidently's auto-selection: reference data of at most this many rows gets tests (KS,
chi-square, p < 0.05); larger reference data gets distances (Wasserstein normed, Jensen-Shannon,
threshold 0.1). Evidently docs, 'Data drift: how it works' (release 0.1.50)."""
DRIFT_P_VALUE: Final = 0.05
"""p-value below which a test flags a feature (Evidently's and NannyML's default)."""
DRIFT_DISTANCE_THRESHOLD: Final = 0.1
"""Normed Wasserstein and Jensen-Shannon distance above which a feature drifted (Evidently)."""
DRIFT_PSI_THRESHOLD: Final = 0.1
"""PSI above which a feature drifted (Evidently's psi threshold; 0.2 is 'major' by convention)."""
DRIFT_PSI_MAJOR: Final = 0.2
DRIFT_PSI_BINS: Final = 10
DRIFT_SHARE: Final = 0.5
"""Share of drifted features at which the whole dataset counts as drifted (Evidently's
DatasetDriftMetric drift_share=0.5)."""
DRIFT_CATEGORICAL_MAX_UNIQUE: Final = 5
"""Numeric columns with at most this many distinct values are treated as categorical
(Evidently's n_unique <= 5 rule)."""
DRIFT_WINDOWS: Final = 10
"""Windows the current data is cut into for the over-time view (NannyML's default chunker
makes 10 chunks)."""
DRIFT_MAX_ROWS: Final = 200_000
"""Rows per table read from DuckDB for the drift tests; larger tables are sampled (seeded)."""
DRIFT_MAX_FEATURES: Final = 200
CONCEPT_BINS: Final = 5
"""Quantile bins of a feature (from the reference) in which label rates are compared."""
CONCEPT_MIN_EFFECT: Final = 0.1
"""Concept shift is flagged when, within the same feature bins, the label mean moved by at
least this many reference standard deviations on average (and the test is significant)."""

# Peeking-safe readouts (abcore.sequential) and the Bayesian view (abcore.bayes).
SEQUENTIAL_METHODS: Final[tuple[str, ...]] = ("fixed", "always_valid", "group_sequential")
"""Analysis methods a plan may choose: fixed horizon, always valid (peek any time), or a
group-sequential design with planned looks."""
SEQUENTIAL_METHOD: Final = "fixed"
SPENDING_FUNCTIONS: Final[tuple[str, ...]] = ("power", "obf", "pocock")
"""Lan-DeMets alpha-spending families: alpha t^rho, O'Brien-Fleming-type, Pocock-type."""
SPENDING: Final = "power"
SPENDING_RHO: Final = 2.0
"""Exponent of the power spending family alpha t^rho: 2 is Spotify Confidence's default and
spends like O'Brien-Fleming (little alpha early)."""
GS_LOOKS: Final = 4
"""Planned looks of a group-sequential design: weekly over the four weeks of a typical test."""
AV_LOOKS: Final = 28
"""Looks assumed when pricing the always-valid sequence (daily for four weeks): the sequence
is valid for any number of looks, but its power, hence its cost, depends on them."""
BAYES_PRIOR_MEAN: Final = 0.0
"""Mean of a proper normal prior on the lift (no effect expected either way)."""
BAYES_PRIOR_SD: Final = None
"""Standard deviation of the prior on the lift; None is a flat (improper) prior, under which
the posterior is the normal likelihood itself."""
BAYES_PROPER_PRIOR_SD: Final = 0.3
"""Suggested sd of a proper prior on a relative lift (a +-60% lift is a 2-sigma surprise),
the value GrowthBook ships as its default prior standard deviation."""
SEQUENTIAL_MAX_LOOKS: Final = 366
"""Most looks a group-sequential design or an always-valid cost may plan (daily for a year);
the exact integration grows with the looks (100 looks: 0.2 s a design)."""

# The experiment registry (abcore.registry): where saved experiments live.
REGISTRY_URL_ENV: Final = "ABCORE_DB_URL"
"""Environment variable holding the registry's SQLAlchemy URL (a team's PostgreSQL:
``postgresql+psycopg://user@host/dbname``); unset, a SQLite file is used."""
REGISTRY_FILE: Final = "data/abcore.sqlite"
"""The default SQLite file, relative to the folder of the app (created on first use)."""
REGISTRY_TIMEOUT_S: Final = 5.0
"""Seconds a save waits for a locked database file, or for a server to answer, before it
gives up with a sentence."""

# --------------------------------------------------------------------------------------------
# Hosting (abcore.hosting, ui.state): what each browser session of a shared server may use.
# Read from the environment once, at import; README.md "Host it for your team" explains them.
# --------------------------------------------------------------------------------------------

MAX_SESSIONS: Final = int(os.environ.get("ABCORE_MAX_SESSIONS", "") or 4)
"""Browser sessions the server is sized for at once (``ABCORE_MAX_SESSIONS``). Each gets an
equal share of the memory budget and of the cores; a closed tab still counts until
Streamlit ends its session (``server.disconnectedSessionTTL``, 120 s by default)."""
MEMORY_BUDGET: Final = os.environ.get("ABCORE_MEMORY_BUDGET", "") or "75%"
"""Memory the whole server may use (``ABCORE_MEMORY_BUDGET``): a size such as ``16GB`` or
``12000MB``, or a share of the host's memory such as ``75%`` (the default: the rest is left to
the system and its file cache). The host's memory is the container's limit when there is one."""
THREAD_BUDGET: Final = int(os.environ.get("ABCORE_THREADS", "") or 0)
"""DuckDB threads shared by all sessions (``ABCORE_THREADS``); 0 means the host's cores."""
SPILL_DIR: Final = os.environ.get("ABCORE_SPILL_DIR", "") or None
"""Folder under which each session's DuckDB spills (``ABCORE_SPILL_DIR``); None is the
system's temporary folder. Each session gets its own subfolder, removed when it ends."""
SERVER_BASE_MEMORY: Final = 600 * 2**20
"""Memory the server holds with no upload (Python, Streamlit, pandas, the demo data): about
400 MB measured (VmRSS of ``streamlit run app.py`` after the first page), with headroom."""
UPLOAD_MAX_MB: Final = 200
"""Largest upload any session may send, in MB; ``server.maxUploadSize`` in
``.streamlit/config.toml`` holds the same number (a test checks it). A session's own limit is
lower when its share of the memory budget is smaller (:func:`abcore.hosting.session_limits`)."""
SESSION_MIN_MEMORY: Final = 128 * 2**20
"""Smallest share of memory a session may get (a 2 GB host with the defaults gives 230 MB):
below it a settings error says what to change."""

# Planning from the user's own data (abcore.estimate, the Plan page's "plan from your data").
ESTIMATE_CURVE_POINTS: Final = CURVE_POINTS
"""Most points of the unique-units curve an estimate keeps (every day up to this many days;
past that, this many days spread evenly, each holding the exact count of that day)."""
ESTIMATE_MAX_DAYS: Final = PLAN_HORIZON_DAYS
"""Most distinct days read from a file's dates for the curve: the first this many count (a
pre-period longer than the longest test says nothing more about a test's duration)."""
ESTIMATE_GROWTH_DAYS: Final = 14
"""Days at the end of the file whose growth in unique units is carried forward when the
plan needs more units than the file's days hold (the last two weeks: whole weekly cycles)."""
# Quantile metrics (abcore.quantile): p50, p90, p99 of a per-unit amount.
QUANTILE_LEVELS: Final[tuple[float, ...]] = (0.5, 0.9, 0.95, 0.99)
"""The quantile levels the Results page offers (p50, p90, p95, p99); the engine takes any
level strictly between 0 and 1."""
QUANTILE_BOUND_ALPHA: Final = 0.05
"""Level of the order-statistic interval each arm's quantile carries (the "outer CI"): its
width estimates the density at the quantile, hence the quantile's standard error, whatever
alpha the readout is tested at (GrowthBook's gbstats fixes it at 0.05 too)."""
