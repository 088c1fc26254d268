"""Allowed values of the DSA Transparency Database statement-of-reasons schema (API v2).

Source: the Commission's own code, github.com/digital-services-act/transparency-database
(``app/Models/Statement.php``, ``app/Http/Requests/StatementStoreRequest.php`` and the API
documentation page ``resources/markdown/api-documentation.md``, published at
https://transparency.dsa.ec.europa.eu/page/api-documentation). API v2 took effect on
1 July 2025 (``resources/markdown/migration-to-api-v-two.md``) and replaced the category and
keyword lists; the v1 names we know of are kept in :data:`RETIRED` so that a record built
against the old schema is told what to use instead.

Only the lists Jikimi needs to validate a record are here. Where a list was read from a
secondary source rather than the Commission's repository, the comment says so.
"""

from __future__ import annotations

DECISION_VISIBILITIES = frozenset(
    {
        "DECISION_VISIBILITY_CONTENT_REMOVED",
        "DECISION_VISIBILITY_CONTENT_DISABLED",
        "DECISION_VISIBILITY_CONTENT_DEMOTED",
        "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
        "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
        "DECISION_VISIBILITY_CONTENT_LABELLED",
        "DECISION_VISIBILITY_OTHER",
    }
)
DECISION_MONETARIES = frozenset(
    {"DECISION_MONETARY_SUSPENSION", "DECISION_MONETARY_TERMINATION", "DECISION_MONETARY_OTHER"}
)
DECISION_PROVISIONS = frozenset(
    {
        "DECISION_PROVISION_PARTIAL_SUSPENSION",
        "DECISION_PROVISION_TOTAL_SUSPENSION",
        "DECISION_PROVISION_PARTIAL_TERMINATION",
        "DECISION_PROVISION_TOTAL_TERMINATION",
    }
)
DECISION_ACCOUNTS = frozenset({"DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED"})
ACCOUNT_TYPES = frozenset({"ACCOUNT_TYPE_BUSINESS", "ACCOUNT_TYPE_PRIVATE"})

DECISION_GROUND_ILLEGAL = "DECISION_GROUND_ILLEGAL_CONTENT"
DECISION_GROUND_INCOMPATIBLE = "DECISION_GROUND_INCOMPATIBLE_CONTENT"
DECISION_GROUNDS = frozenset({DECISION_GROUND_ILLEGAL, DECISION_GROUND_INCOMPATIBLE})

YES_NO = frozenset({"Yes", "No"})

AUTOMATED_DECISIONS = frozenset(
    {
        "AUTOMATED_DECISION_FULLY",
        "AUTOMATED_DECISION_PARTIALLY",
        "AUTOMATED_DECISION_NOT_AUTOMATED",
    }
)

SOURCE_TYPES = frozenset(
    {
        "SOURCE_ARTICLE_16",
        "SOURCE_TRUSTED_FLAGGER",
        "SOURCE_TYPE_OTHER_NOTIFICATION",
        "SOURCE_VOLUNTARY",
    }
)

CONTENT_TYPES = frozenset(
    {
        "CONTENT_TYPE_APP",
        "CONTENT_TYPE_AUDIO",
        "CONTENT_TYPE_IMAGE",
        "CONTENT_TYPE_PRODUCT",
        "CONTENT_TYPE_SYNTHETIC_MEDIA",
        "CONTENT_TYPE_TEXT",
        "CONTENT_TYPE_VIDEO",
        "CONTENT_TYPE_OTHER",
    }
)

CATEGORY_CYBER_VIOLENCE = "STATEMENT_CATEGORY_CYBER_VIOLENCE"
CATEGORY_PROTECTION_OF_MINORS = "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
CATEGORY_OTHER_VIOLATION_TC = "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"
CATEGORIES = frozenset(
    {
        "STATEMENT_CATEGORY_ANIMAL_WELFARE",
        "STATEMENT_CATEGORY_CONSUMER_INFORMATION",
        CATEGORY_CYBER_VIOLENCE,
        "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
        "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
        "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
        "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
        "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
        CATEGORY_OTHER_VIOLATION_TC,
        CATEGORY_PROTECTION_OF_MINORS,
        "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
        "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        "STATEMENT_CATEGORY_SELF_HARM",
        "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
        "STATEMENT_CATEGORY_VIOLENCE",
    }
)

KEYWORD_NCII_DEEPFAKE = "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE"
KEYWORD_CSAM_DEEPFAKE = "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE"
KEYWORD_OTHER = "KEYWORD_OTHER"
# The v2 keyword list of the API documentation page. Only the keywords near Jikimi's work are
# tied to their category (KEYWORD_CATEGORY below); the rest are accepted by name alone.
KEYWORDS = frozenset(
    {
        "KEYWORD_ANIMAL_HARM",
        "KEYWORD_UNLAWFUL_SALE_ANIMALS",
        "KEYWORD_HIDDEN_ADVERTISEMENT",
        "KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS",
        "KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS",
        "KEYWORD_MISLEADING_INFO_GOODS_SERVICES",
        "KEYWORD_NONCOMPLIANCE_PRICING",
        "KEYWORD_CYBER_BULLYING_INTIMIDATION",
        "KEYWORD_CYBER_HARASSMENT",
        "KEYWORD_CYBER_INCITEMENT",
        "KEYWORD_CYBER_STALKING",
        "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING",
        KEYWORD_NCII_DEEPFAKE,
        "KEYWORD_BULLYING_AGAINST_GIRLS",
        "KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN",
        "KEYWORD_CYBER_STALKING_AGAINST_WOMEN",
        "KEYWORD_FEMALE_GENDERED_DISINFORMATION",
        "KEYWORD_INCITEMENT_AGAINST_WOMEN",
        "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN",
        "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN",
        "KEYWORD_BIOMETRIC_DATA_BREACH",
        "KEYWORD_MISSING_PROCESSING_GROUND",
        "KEYWORD_RIGHT_TO_BE_FORGOTTEN",
        "KEYWORD_DATA_FALSIFICATION",
        "KEYWORD_DEFAMATION",
        "KEYWORD_DISCRIMINATION",
        "KEYWORD_HATE_SPEECH",
        "KEYWORD_COPYRIGHT_INFRINGEMENT",
        "KEYWORD_DESIGN_INFRINGEMENT",
        "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT",
        "KEYWORD_PATENT_INFRINGEMENT",
        "KEYWORD_TRADE_SECRET_INFRINGEMENT",
        "KEYWORD_TRADEMARK_INFRINGEMENT",
        "KEYWORD_MISINFORMATION_DISINFORMATION",
        "KEYWORD_VIOLATION_EU_LAW",
        "KEYWORD_VIOLATION_NATIONAL_LAW",
        "KEYWORD_ADULT_SEXUAL_MATERIAL",
        "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS",
        "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
        KEYWORD_CSAM_DEEPFAKE,
        "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",
        "KEYWORD_UNSAFE_CHALLENGES",
        "KEYWORD_ILLEGAL_ORGANIZATIONS",
        "KEYWORD_RISK_ENVIRONMENTAL_DAMAGE",
        "KEYWORD_RISK_PUBLIC_HEALTH",
        "KEYWORD_TERRORIST_CONTENT",
        "KEYWORD_INAUTHENTIC_ACCOUNTS",
        "KEYWORD_INAUTHENTIC_LISTINGS",
        "KEYWORD_INAUTHENTIC_USER_REVIEWS",
        "KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING",
        "KEYWORD_PHISHING",
        "KEYWORD_PYRAMID_SCHEMES",
        "KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS",
        "KEYWORD_SELF_MUTILATION",
        "KEYWORD_SUICIDE",
        "KEYWORD_AGE_SPECIFIC_RESTRICTIONS",
        "KEYWORD_GEOGRAPHICAL_REQUIREMENTS",
        "KEYWORD_GOODS_SERVICES_NOT_PERMITTED",
        "KEYWORD_LANGUAGE_REQUIREMENTS",
        "KEYWORD_NUDITY",
        "KEYWORD_PROHIBITED_PRODUCTS",
        "KEYWORD_UNSAFE_PRODUCTS",
        "KEYWORD_STALKING",
        "KEYWORD_COORDINATED_HARM",
        "KEYWORD_HUMAN_EXPLOITATION",
        "KEYWORD_HUMAN_TRAFFICKING",
        "KEYWORD_INCITEMENT_VIOLENCE_HATRED",
        "KEYWORD_TRAFFICKING_WOMEN_GIRLS",
        KEYWORD_OTHER,
    }
)

# Jikimi's own rule, not one the database is known to enforce: a keyword we emit must sit
# under its category (as ``category`` or in ``category_addition``), so a deepfake of a minor
# is never filed as adult cyber violence or the other way round.
KEYWORD_CATEGORY = {
    KEYWORD_NCII_DEEPFAKE: CATEGORY_CYBER_VIOLENCE,
    KEYWORD_CSAM_DEEPFAKE: CATEGORY_PROTECTION_OF_MINORS,
}

# v1 names (before 1 July 2025) that the v2 API no longer accepts, with their v2 replacement
# where a secondary source confirms one (None: see the Commission's v2 changelog). The v1
# keywords are those of ``app/Models/Statement.php`` before v2; the replacements follow the
# v2 labels of ``resources/markdown/api-documentation-two.md`` ("Misinformation,
# disinformation, foreign information manipulation and interference"; "Insufficient
# information on traders") and the v1/v2 notes of krMaynard/dsa-transparency-data.
RETIRED: dict[str, str | None] = {
    "STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR": CATEGORY_CYBER_VIOLENCE,
    "KEYWORD_NON_CONSENSUAL_ITEMS_DEEPFAKE": KEYWORD_NCII_DEEPFAKE,
    "KEYWORD_INSUFFICIENT_INFORMATION_TRADERS": "KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS",
    "KEYWORD_MISINFORMATION": "KEYWORD_MISINFORMATION_DISINFORMATION",
    "KEYWORD_DISINFORMATION": "KEYWORD_MISINFORMATION_DISINFORMATION",
    "KEYWORD_FOREIGN_INFORMATION_MANIPULATION": "KEYWORD_MISINFORMATION_DISINFORMATION",
    "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT": None,
    "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE": None,
    "STATEMENT_CATEGORY_UNSAFE_AND_ILLEGAL_PRODUCTS": None,
    "KEYWORD_IMAGE_BASED_SEXUAL_ABUSE": None,
    "KEYWORD_ONLINE_BULLYING_INTIMIDATION": None,
    "KEYWORD_DANGEROUS_TOYS": None,
    "KEYWORD_GENDER_BASED_VIOLENCE": None,
    "KEYWORD_REGULATED_GOODS_SERVICES": None,
}

EU_COUNTRIES = (
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
)  # fmt: skip
# EEA = EU + Iceland, Liechtenstein, Norway. Greece is "GR" in the database, not "EL".
EEA_COUNTRIES = tuple(sorted((*EU_COUNTRIES, "IS", "LI", "NO")))

# Maximum lengths from StatementStoreRequest.
MAX_LEN = {
    "decision_visibility_other": 500,
    "decision_monetary_other": 500,
    "illegal_content_legal_ground": 500,
    "illegal_content_explanation": 2000,
    "incompatible_content_ground": 500,
    "incompatible_content_explanation": 2000,
    "content_type_other": 500,
    "category_specification_other": 500,
    "decision_facts": 5000,
    "source_identity": 500,
    "puid": 500,
    "decision_ground_reference_url": 500,
}

FIELDS = frozenset(
    {
        "decision_visibility",
        "decision_visibility_other",
        "end_date_visibility_restriction",
        "decision_monetary",
        "decision_monetary_other",
        "end_date_monetary_restriction",
        "decision_provision",
        "end_date_service_restriction",
        "decision_account",
        "end_date_account_restriction",
        "account_type",
        "decision_ground",
        "decision_ground_reference_url",
        "illegal_content_legal_ground",
        "illegal_content_explanation",
        "incompatible_content_ground",
        "incompatible_content_explanation",
        "incompatible_content_illegal",
        "category",
        "category_addition",
        "category_specification",
        "category_specification_other",
        "content_type",
        "content_type_other",
        "content_id",
        "content_language",
        "content_date",
        "territorial_scope",
        "application_date",
        "decision_facts",
        "source_type",
        "source_identity",
        "automated_detection",
        "automated_decision",
        "puid",
    }
)
