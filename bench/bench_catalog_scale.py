"""The catalog's queries on a catalog of production size: 1,000,000 assets, 10,000 datasets, on PostgreSQL.

The rows are generated in the database by set-based SQL (INSERT ... SELECT over generate_series), in a few
statements: a few hundred creators own the assets, most datasets are public with a published version of
about a hundred samples, some have an older superseded version, and titles and descriptions are drawn from a
vocabulary of a few hundred words with a Zipf-like frequency, so that searches range from a word in most
datasets to one in a few dozen.

Each query is the SQL the catalog's selector sends (captured from `catalog_page`, with its parameters),
run through `EXPLAIN (ANALYZE, TIMING OFF)` a few hundred times: the figure is the server's execution time
plus its planning time, what the database spends on the query without the network and the driver. Each
result's ratio is the target over the p50 (1.0 or more: met); the first run's plan, with buffers, is
printed before the results.
"""

import math
import statistics
import time
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.harness import Result
from datasets import selectors
from datasets.catalog_api import DEFAULT_PAGE_SIZE
from datasets.models import Dataset
from datasets.services import versions_on_sale_refresh

ASSETS = 1_000_000
DATASETS = 10_000
CREATORS = 300
REPETITIONS = 300
# A slow query gets fewer runs: the search for a word in most datasets takes seconds before its fix.
SECONDS_PER_QUERY = 15
DEEP_OFFSET = 5_000  # rows into the catalog where the deep keyset page starts
KEYSET_TARGET_MS = 1.0
SEARCH_TARGET_MS = 5.0

CATEGORIES = (
    "portraits", "fashion", "food", "architecture", "products", "nature", "animals", "street", "sports",
    "travel", "documentary", "abstract", "motion_video", "other",
)  # fmt: skip

# Words of titles and descriptions, most frequent first: the generator draws word k with a probability
# falling as 1/k, as words do in real text.
_VOCABULARY_TEXT = """
photos images people outdoor light portrait natural street city urban daylight studio colour faces hands
close detail wide angle scene everyday life candid posed model women men children elderly group
family friends couple walking standing sitting running working cooking eating reading smiling laughing
market shop cafe restaurant kitchen table food fresh fruit vegetables bread coffee tea dinner lunch
breakfast dessert plate bowl glass bottle street food vendor night evening morning sunset sunrise
golden hour shadow silhouette reflection window door wall roof building tower bridge river lake sea
beach coast harbour boat ship train station bus tram bicycle car road traffic crowd festival concert
stage music dance dancer musician guitar drums singer sport football basketball tennis swimming
cycling climbing hiking mountain forest tree flower garden park field farm animal dog cat horse bird
cow sheep goat chicken wildlife insect butterfly bee leaf grass snow rain fog storm cloud sky sun
moon stars winter spring summer autumn season weather texture pattern surface wood stone metal fabric
paper plastic concrete brick tile sand water ice fire smoke dust colourful monochrome black white
blue green red yellow orange purple pink brown grey pastel vivid muted soft hard contrast bright
dark minimal abstract geometric lines curves shapes symmetry motion blur fast slow movement action
jump gesture expression emotion joy calm focus profile overhead aerial drone macro telephoto fisheye
handheld tripod indoor interior exterior office home bedroom bathroom living room workshop factory
warehouse laboratory hospital school classroom library museum gallery church temple mosque castle
ruins village town suburb countryside desert valley canyon island volcano waterfall glacier meadow
product packaging bottle shoe bag watch jewellery clothing dress shirt jacket hat glasses fashion
runway editorial catalogue lookbook retail display shelf ceramics furniture chair lamp sofa plant
vase cup knife spoon fork pan pot oven grill barbecue wine beer cheese meat fish seafood rice pasta
noodles soup salad cake chocolate ice cream pastry spices herbs harvest fisherman farmer tailor
carpenter potter weaver baker chef nurse teacher student athlete climber surfer skier skater rider
"""
VOCABULARY = list(dict.fromkeys(_VOCABULARY_TEXT.split()))
# Place names, one in each title, drawn the same way from a list of their own: the rarest are in a few
# dozen datasets, what a precise search finds.
_PLACES_TEXT = """
lisbon porto madrid seville valencia barcelona marseille lyon paris bordeaux nantes lille brussels
antwerp ghent amsterdam rotterdam utrecht hamburg berlin leipzig dresden munich vienna graz salzburg
zurich geneva basel milan turin genoa florence bologna naples palermo rome venice trieste ljubljana
zagreb split sarajevo belgrade sofia athens thessaloniki istanbul izmir tbilisi yerevan baku tehran
cairo tunis algiers casablanca marrakesh dakar accra lagos nairobi kampala kigali addis zanzibar
mombasa johannesburg durban capetown windhoek maputo lusaka harare luanda kinshasa douala abidjan
bamako niamey khartoum muscat dubai doha riyadh amman beirut damascus baghdad kabul karachi lahore
delhi mumbai kolkata chennai bangalore colombo kathmandu dhaka yangon bangkok hanoi saigon phnompenh
vientiane kualalumpur singapore jakarta bali manila taipei seoul busan tokyo osaka kyoto sapporo
"""
PLACES = _PLACES_TEXT.split()
USES = (
    "Training and evaluating image classifiers and detectors.",
    "Fine-tuning vision-language models on captioned photos.",
    "Research on pose estimation and human activity recognition.",
    "Evaluating generative models for fidelity and diversity.",
    "Product recognition and retail shelf analytics.",
)

# --- Generation ---------------------------------------------------------------------------------------------


GENERATE = [
    # The seed keeps the catalog the same from run to run, so runs compare.
    "SELECT setseed(0.42)",
    """
    INSERT INTO marketplace_user (password, is_superuser, email, display_name, role, is_active, is_staff,
                                  date_joined)
    SELECT '!', false, 'creator' || n || '@scale.example', 'Creator ' || n, 'creator', true, false,
           now() - interval '3 years'
    FROM generate_series(1, %(creators)s) AS n
    """,
    """
    INSERT INTO creators_creatorprofile (display_name, bio, country, website, created_at, user_id)
    SELECT display_name, '', (ARRAY['PT','FR','DE','KE','IN','BR','JP','US','MX','NG'])[1 + id %% 10], '',
           date_joined, id
    FROM marketplace_user WHERE email LIKE '%%@scale.example'
    """,
    # Assets: 85% photos (2-14 MB), 15% videos (20-520 MB); nearly all ingested, a few rejected.
    """
    WITH creators AS (SELECT array_agg(id ORDER BY id) AS ids FROM creators_creatorprofile)
    INSERT INTO creators_mediaasset (
        public_id, kind, status, rejection_reason, title, caption, category, original, original_name,
        original_bytes, mime_type, sha256, width, height, duration_seconds, capture_time, resolution_class,
        blur_score, exposure_mean, motion_score, face_count, ai_generated, metadata, thumbnail, preview,
        preview_clip, ingest_progress, ingest_attempts, uploaded_at, processed_at, updated_at, creator_id
    )
    SELECT gen_random_uuid(), kind, status, '', '', '', (%(categories)s::text[])[1 + n %% 14],
           'originals/' || n, 'IMG_' || n || suffix, bytes, mime, md5(n::text) || md5((-n)::text),
           width, height, duration, uploaded - interval '2 days', CASE WHEN width >= 3840 THEN '4k' ELSE 'hd' END,
           random() * 400, random(), CASE WHEN kind = 'video' THEN random() END, (n %% 4)::int,
           false, '{}', 'thumbnails/' || n || '.jpg',
           CASE WHEN status = 'ready' THEN 'previews/' || n || '.jpg' ELSE '' END,
           CASE WHEN kind = 'video' AND status = 'ready' THEN 'clips/' || n || '.mp4' ELSE '' END,
           100, 1, uploaded, uploaded + interval '1 minute', uploaded, ids[1 + n %% array_length(ids, 1)]
    FROM creators, generate_series(1, %(assets)s) AS n,
         LATERAL (SELECT CASE WHEN n %% 20 < 3 THEN 'video' ELSE 'image' END AS kind,
                         CASE WHEN n %% 50 = 0 THEN 'rejected' ELSE 'ready' END AS status,
                         now() - random() * interval '3 years' AS uploaded) AS picked,
         LATERAL (SELECT CASE kind WHEN 'video' THEN '.mp4' ELSE '.jpg' END AS suffix,
                         CASE kind WHEN 'video' THEN 'video/mp4' ELSE 'image/jpeg' END AS mime,
                         CASE kind WHEN 'video' THEN 20000000 + (random() * 500000000)::bigint
                                   ELSE 2000000 + (random() * 12000000)::bigint END AS bytes,
                         CASE WHEN n %% 3 = 0 THEN 3840 ELSE 1920 + (n %% 7) * 160 END AS width,
                         CASE WHEN n %% 3 = 0 THEN 2160 ELSE 1080 + (n %% 7) * 90 END AS height,
                         CASE kind WHEN 'video' THEN 5 + random() * 300 END AS duration) AS sized
    """,
    # Datasets: a title of a few words and a place, a description of 25 to 75 words, 90% public. A word is
    # drawn with probability falling as 1/rank: the array index is exp of a uniform over [0, ln(n + 1)).
    """
    INSERT INTO datasets_dataset (
        slug, title, description, category, intended_uses, is_public, media_type, categories, tags,
        required_uses, exclude_near_duplicates, created_at, updated_at
    )
    SELECT 'scale-' || n, initcap(title), description, category, (%(uses)s::text[])[1 + n %% 5],
           n %% 10 <> 0, (ARRAY['any', 'image', 'video'])[1 + n %% 3], jsonb_build_array(category),
           to_jsonb(tags), '[]', true, now() - interval '3 years', now()
    FROM generate_series(1, %(datasets)s) AS n,
         LATERAL (SELECT (%(categories)s::text[])[1 + n %% 14] AS category) AS chosen,
         LATERAL (SELECT string_agg((%(vocabulary)s::text[])[floor(exp(random() * ln(%(vocabulary_size)s + 1)))::int], ' ')
                         || ' in ' || (%(places)s::text[])[floor(exp(random() * ln(%(places_size)s + 1)))::int]
                         AS title
                  FROM generate_series(1, 2 + n %% 3)) AS titled,
         LATERAL (SELECT string_agg((%(vocabulary)s::text[])[floor(exp(random() * ln(%(vocabulary_size)s + 1)))::int], ' ')
                         || '.' AS description
                  FROM generate_series(1, 25 + n %% 51)) AS described,
         LATERAL (SELECT array_agg(DISTINCT (%(vocabulary)s::text[])[floor(exp(random() * ln(%(vocabulary_size)s + 1)))::int])
                         AS tags
                  FROM generate_series(1, 1 + n %% 4)) AS tagged
    """,
    # Every dataset under the research tier; 70% also commercially, 30% also for generative training.
    """
    INSERT INTO datasets_offer (dataset_id, terms_id, price_cents)
    SELECT d.id, t.id, (CASE t.slug WHEN 'research' THEN 5000 WHEN 'commercial' THEN 40000 ELSE 150000 END)
                       * (1 + d.id %% 9)
    FROM datasets_dataset d JOIN licensing_licenseterms t
      ON t.slug = 'research'
         OR (t.slug = 'commercial' AND d.id %% 10 < 7)
         OR (t.slug = 'commercial-generative' AND d.id %% 10 < 3)
    WHERE d.slug LIKE 'scale-%%'
    """,
    # Versions: 85% of datasets have v1 published; 10% have v1 superseded by a published v2; 5% only a draft.
    """
    INSERT INTO datasets_datasetversion (
        public_id, dataset_id, number, status, change_note, item_count, total_bytes, items_done, bytes_done,
        shards_done, deliveries_done, build_attempts, stalled_attempts, failure_reason, end_reason, created_at,
        sealed_at, published_at, ended_at
    )
    SELECT gen_random_uuid(), d.id, v.number, v.status, '', items, 0, items, 0, 0, items, 1, 0, '', '',
           published, published, CASE WHEN v.status <> 'draft' THEN published + (v.number - 1) * month END,
           CASE WHEN v.status = 'superseded' THEN published + month END
    FROM datasets_dataset d,
         LATERAL (SELECT now() - interval '1 month' - random() * interval '3 years' AS published,
                         interval '1 month' AS month,
                         20 + (d.id * 37) %% 161 AS items) AS drawn,
         LATERAL (VALUES (1, CASE WHEN d.id %% 20 = 0 THEN 'draft'
                                  WHEN d.id %% 20 < 3 THEN 'superseded' ELSE 'published' END),
                         (2, CASE WHEN d.id %% 20 IN (1, 2) THEN 'published' END)) AS v(number, status)
    WHERE d.slug LIKE 'scale-%%' AND v.status IS NOT NULL
    """,
    # Samples: each sealed version holds item_count distinct assets, spread over the whole table.
    """
    WITH assets AS (SELECT min(id) AS first, count(*) AS total FROM creators_mediaasset)
    INSERT INTO datasets_versionitem (
        version_id, asset_id, key, position, sha256, byte_size, consent_id, release_ids, uses,
        creator_pseudonym
    )
    SELECT v.id, a.id, lpad(p::text, 6, '0'), p, a.sha256, a.original_bytes, gen_random_uuid(), '[]', '{}',
           substr(md5(a.creator_id::text), 1, 16)
    FROM assets CROSS JOIN datasets_datasetversion v
    CROSS JOIN LATERAL generate_series(0, v.item_count - 1) AS p
    JOIN creators_mediaasset a ON a.id = assets.first + (v.id * 7919 + p * 104729) %% assets.total
    WHERE v.status IN ('published', 'superseded')
    """,
    # Item counts and sizes as the samples make them.
    """
    UPDATE datasets_datasetversion v SET total_bytes = s.bytes, bytes_done = s.bytes
    FROM (SELECT version_id, sum(byte_size) AS bytes FROM datasets_versionitem GROUP BY version_id) AS s
    WHERE s.version_id = v.id
    """,
]


def catalog_generate(*, assets: int = ASSETS, datasets: int = DATASETS, creators: int = CREATORS) -> None:
    """Fill the catalog with generated rows, and record each dataset's version on sale as the services would
    (the rows are written around them). The load test's scratch site uses it at a smaller size."""
    params: dict[str, Any] = {
        "creators": creators,
        "assets": assets,
        "datasets": datasets,
        "categories": list(CATEGORIES),
        "vocabulary": VOCABULARY,
        "places": PLACES,
        "vocabulary_size": len(VOCABULARY),
        "places_size": len(PLACES),
        "uses": list(USES),
    }
    with connection.cursor() as cursor:
        for statement in GENERATE:
            cursor.execute(statement, params)
    versions_on_sale_refresh(datasets=Dataset.objects.all())


def _generate() -> float:
    """Fill the catalog at full size; the seconds it took."""
    started = time.perf_counter()
    catalog_generate()
    with connection.cursor() as cursor:
        # VACUUM too: the visibility map lets index-only scans skip the heap, as on a settled database.
        cursor.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


# --- Measurement --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogCase:
    name: str
    description: str
    query: selectors.CatalogQuery
    target_ms: float
    deep: bool = False  # start the page DEEP_OFFSET rows in, after a cursor the selector handed out


@dataclass(frozen=True)
class Timing:
    execution_ms: list[float]
    planning_ms: list[float]
    round_trip_ms: list[float]
    rows: int


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def _page_sql(case: CatalogCase) -> str:
    """The SQL of the page itself, as the selector sends it (the first of its queries)."""
    after = None
    if case.deep:
        leading = selectors.catalog_page(
            query=selectors.CatalogQuery(text=case.query.text, page_size=DEEP_OFFSET), with_facets=False
        )
        assert leading.next_cursor is not None, "the catalog is shorter than the deep page's offset"
        after = selectors.catalog_cursor_decode(leading.next_cursor, query=case.query)
    with CaptureQueriesContext(connection) as captured:
        selectors.catalog_page(query=case.query, after=after, with_facets=False)
    return str(captured.captured_queries[0]["sql"])


def _time(sql: str) -> Timing:
    """REPETITIONS runs of the query, or as many as fit in the time budget when it is slow (at least a few)."""
    execution: list[float] = []
    planning: list[float] = []
    round_trip: list[float] = []
    rows = 0
    with connection.cursor() as cursor:
        deadline = time.perf_counter() + SECONDS_PER_QUERY
        while len(execution) < REPETITIONS and (len(execution) < 5 or time.perf_counter() < deadline):
            cursor.execute(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {sql}")
            plan = cursor.fetchone()[0][0]
            execution.append(plan["Execution Time"])
            planning.append(plan["Planning Time"])
            rows = plan["Plan"]["Actual Rows"]
        for _ in execution:
            started = time.perf_counter()
            cursor.execute(sql)
            cursor.fetchall()
            round_trip.append((time.perf_counter() - started) * 1000)
    return Timing(execution, planning, round_trip, rows)


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def _matches(text: str) -> str:
    """How many catalog datasets the words find, and in how many titles: the selectivity of a search."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE title_document @@ query) "
            "FROM datasets_dataset, websearch_to_tsquery(%s, %s) AS query "
            "WHERE is_public AND version_on_sale_id IS NOT NULL AND search_document @@ query",
            [selectors.SEARCH_CONFIG, text],
        )
        found, in_title = cursor.fetchone()
        return f"{found:,} datasets match, {in_title:,} in their title"


def _cases() -> list[CatalogCase]:
    common, middling, rare = VOCABULARY[0], VOCABULARY[60], PLACES[-1]
    first = selectors.CatalogQuery(page_size=DEFAULT_PAGE_SIZE)
    return [
        CatalogCase("catalog_first_page", "the first page, newest first", first, KEYSET_TARGET_MS),
        CatalogCase(
            "catalog_keyset_page_deep",
            f"a page {DEEP_OFFSET:,} rows in, after the selector's cursor",
            first,
            KEYSET_TARGET_MS,
            deep=True,
        ),
        *(
            CatalogCase(
                f"catalog_search_{kind}",
                f"search {words!r}, best match first",
                selectors.CatalogQuery(text=words, page_size=DEFAULT_PAGE_SIZE),
                SEARCH_TARGET_MS,
            )
            for kind, words in (
                ("common_word", common),
                ("middling_word", middling),
                ("rare_word", rare),
                ("two_common_words", f"{common} {VOCABULARY[1]}"),
                ("common_and_rare_word", f"{common} {rare}"),
            )
        ),
    ]


def _whole_search_page(query: selectors.CatalogQuery) -> Result:
    """Every query of a first page with its facets, reported: the page itself is bounded, but a facet counts
    every dataset the words find."""
    with CaptureQueriesContext(connection) as captured:
        selectors.catalog_page(query=query, with_facets=True)
    p50s = []
    for query_sql in (str(captured_query["sql"]) for captured_query in captured.captured_queries):
        timing = _time(query_sql)
        p50s.append(
            statistics.median(e + p for e, p in zip(timing.execution_ms, timing.planning_ms, strict=True))
        )
    return Result(
        "catalog_search_common_word_whole_page",
        math.nan,
        None,
        f"search {query.text!r} with facets, {len(p50s)} queries: server p50 {sum(p50s):.2f} ms in all "
        f"(each: {', '.join(f'{p50:.2f}' for p50 in p50s)} ms: the page, its offers, then what the cache "
        "lacks: the versions' photo and video counts, the facets by category, media type, tier, size and price)",
    )


def run() -> list[Result]:
    if connection.vendor != "postgresql":
        return [
            Result(
                "catalog_scale",
                math.nan,
                None,
                "skipped: a PostgreSQL benchmark (its search and indexes are PostgreSQL's); set DATABASE_URL",
            )
        ]
    generation_seconds = _generate()
    results = []
    for case in _cases():
        sql = _page_sql(case)
        timing = _time(sql)
        server = [e + p for e, p in zip(timing.execution_ms, timing.planning_ms, strict=True)]
        p50 = statistics.median(server)
        matched = f", {_matches(case.query.text)}" if case.query.text else ""
        print(f"\n-- {case.name}: {case.description}{matched}\n{_plan(sql)}")
        results.append(
            Result(
                case.name,
                case.target_ms / p50,
                1.0,
                f"{case.description}{matched}: server p50 {p50:.2f} ms, p95 {_percentile(server, 0.95):.2f} ms "
                f"(execution p50 {statistics.median(timing.execution_ms):.2f} ms + planning "
                f"{statistics.median(timing.planning_ms):.2f} ms) over {len(server)} runs, target p50 < "
                f"{case.target_ms:g} ms; round trip through the driver p50 "
                f"{statistics.median(timing.round_trip_ms):.2f} ms; {timing.rows} rows",
            )
        )
    results.append(
        _whole_search_page(selectors.CatalogQuery(text=VOCABULARY[0], page_size=DEFAULT_PAGE_SIZE))
    )
    results.append(
        Result(
            "catalog_scale_generation",
            math.nan,
            None,
            f"{ASSETS:,} assets, {DATASETS:,} datasets and their versions, offers and samples generated and "
            f"analysed in {generation_seconds:.0f} s",
        )
    )
    return results
