"""The words of the notifications, per language (English; Korean in the formal polite style,
합니다체). Data only: :mod:`jikimi.cases.messages` composes them."""

from __future__ import annotations

from jikimi.model import Language

TEXTS: dict[Language, dict[str, str]] = {
    "en": {
        # Moments are always shown in UTC; names come from the tables below, never the locale.
        "date_moment": "{weekday} {day} {month} {year}, {time} UTC",
        "date_day": "{day} {month} {year}",
        "greeting": "Hello,",
        "receipt_subject": "We received your {kind} (case {case_id})",
        "receipt_opened": "We received your {kind} and opened case {case_id} for it.",
        "receipt_joined": (
            "We received your {kind}. The same content is already covered by an open case, "
            "case {case_id}, so your {kind} was added to it."
        ),
        "receipt_already_removed": (
            "{count} of the items you reported had already been removed before we received it."
        ),
        "receipt_code": (
            "Your receipt code: {receipt}\n"
            "Keep it: you need it to appeal the decision on this case."
        ),
        "receipt_due": "Due: {human} ({iso})",
        "receipt_no_due": "Due: no fixed deadline applies; we will handle it as soon as we can.",
        "receipt_next": (
            "What happens next: a reviewer examines the content you reported and decides by "
            "then. We will write to you at this address with the decision and how to appeal it."
        ),
        "notice_number": "Notice number: {notice_id}",
        "incomplete_subject": "Your {kind} is incomplete (notice {notice_id})",
        "incomplete_intro": (
            "We received your {kind} (notice {notice_id}), but we cannot act on it yet: "
            "it lacks these required elements:"
        ),
        "incomplete_invalid": (
            "These elements could not be accepted in the form they were sent: {fields}"
        ),
        "incomplete_again": (
            "Please send your {kind} again with everything listed above. "
            "Receipt code of this notice, for your records: {receipt}"
        ),
        "suspended_subject": "Your {kind} was recorded (notice {notice_id})",
        "suspended_intro": (
            "We recorded your {kind} (notice {notice_id}, receipt code {receipt}), but it "
            "opens no case: notices from this sender are suspended because earlier notices "
            "were manifestly unfounded (EU Digital Services Act, Art. 23)."
        ),
        "suspended_contest": (
            "If you think the suspension is wrong, you can contest it: write to the operator "
            "of this service with your receipt code and your reasons."
        ),
        "outcome_subject": "Decision on case {case_id}",
        "outcome_intro": "We have decided case {case_id}, which your notice is part of.",
        "outcome_remove": "Decision: the content was removed.",
        "outcome_restrict": "Decision: access to the content was disabled.",
        "outcome_keep": (
            "Decision: the content stays available; we did not find that it breaks the law or "
            "our terms of service."
        ),
        "ground_illegal": "Ground: illegal content under {law}",
        "ground_terms": "Ground: incompatible with our terms of service ({terms})",
        "checked_illegal": "Examined against: {law}",
        "checked_terms": "Examined against: our terms of service ({terms})",
        "unspecified": "not specified",
        "reasons": "Reasons: {reasons}",
        "decided": "Decided on: {human} ({iso})",
        "appeal_heading": "How to appeal",
        "appeal_body": (
            "If you disagree, you can ask us to review the decision: a different reviewer "
            "looks at the case again. You can do so within {months} months of the decision, "
            "until {until} (EU Digital Services Act, Art. 20). You need two things:\n"
            "- your receipt code: {receipt}\n"
            "- a few sentences on why you think the decision is wrong."
        ),
        "appeal_how": (
            "How to send them: make an HTTP POST request to the address below, with your "
            "receipt code and your reasons as JSON. If you are not sure how, forward these "
            "lines to someone who can help you.\n"
            "Address: POST {url}\n"
            "Body: {body}"
        ),
        "appeal_page": (
            "The easiest way: open the appeal page of this service, {page}, and enter the "
            "case number {case_id}, your receipt code and your reasons. You do not need an "
            "account."
        ),
        "appeal_how_also": (
            "Or send them from a program: make an HTTP POST request to the address below, with "
            "your receipt code and your reasons as JSON.\n"
            "Address: POST {url}\n"
            "Body: {body}"
        ),
        "appeal_reasons_placeholder": "<why the decision is wrong>",
        "appeal_outcome_subject": "Decision on your appeal (case {case_id})",
        "appeal_upheld": (
            "A different reviewer looked at case {case_id} again and upheld the earlier "
            "decision: it stands."
        ),
        "appeal_changed": (
            "A different reviewer looked at case {case_id} again and changed the earlier decision."
        ),
        "appeal_further": (
            "If you still disagree, you can turn to a certified out-of-court dispute settlement "
            "body (EU Digital Services Act, Art. 21), and you can always take the matter to court."
        ),
        "statement_removed": "Your content was removed.",
        "statement_disabled": "Access to your content was disabled.",
        "statement_restricted": "Your content was restricted.",
        "statement_illegal": "Why: it is illegal content under {law}.",
        "statement_terms": "Why: it is incompatible with the terms of service ({terms}).",
        "statement_category": "Category: {category}",
        "statement_facts": "Facts and reasons: {facts}",
        "statement_detected_yes": "The content was detected by automated means.",
        "statement_detected_no": "The content was not detected by automated means.",
        "statement_decided_fully": "The decision was taken by automated means alone.",
        "statement_decided_partially": "The decision was taken partly by automated means.",
        "statement_decided_not": "The decision was taken by a person, not by automated means.",
        "statement_date": "Date of the decision: {date}",
        "statement_reference": "Reference: {puid}",
        "statement_redress_heading": "How to challenge this decision",
        "statement_redress": (
            "- Complain through the platform where you posted the content, within {months} "
            "months of the decision, until {until} (EU Digital Services Act, Art. 20). A "
            "different reviewer looks at it again; quote the reference above.\n"
            "- Refer the dispute to a certified out-of-court dispute settlement body (Art. 21).\n"
            "- Go to court: these options do not take away your right to judicial redress."
        ),
    },
    "ko": {
        "date_moment": "{year}년 {month} {day}일 ({weekday}) {time} UTC",
        "date_day": "{year}년 {month} {day}일",
        "greeting": "안녕하십니까.",
        "receipt_subject": "{kind} 접수 안내 (사건 {case_id}번)",
        "receipt_opened": "보내 주신 {kind} 건을 접수하여 사건 {case_id}번으로 등록했습니다.",
        "receipt_joined": (
            "보내 주신 {kind} 건을 접수했습니다. 같은 콘텐츠에 대해 이미 진행 중인 사건 "
            "{case_id}번이 있어 그 사건에 함께 등록했습니다."
        ),
        "receipt_already_removed": "신고하신 항목 중 {count}건은 접수 전에 이미 삭제되었습니다.",
        "receipt_code": (
            "접수 번호: {receipt}\n이 사건의 결정에 이의를 제기하실 때 필요하니 보관해 주십시오."
        ),
        "receipt_due": "처리 기한: {human} ({iso})",
        "receipt_no_due": "처리 기한: 정해진 기한은 없으며, 가능한 한 빨리 처리하겠습니다.",
        "receipt_next": (
            "앞으로의 절차: 담당자가 신고하신 콘텐츠를 검토하여 기한 안에 결정합니다. 결정이 "
            "내려지면 그 결과와 이의 제기 방법을 이 주소로 알려 드리겠습니다."
        ),
        "notice_number": "신고 번호: {notice_id}",
        "incomplete_subject": "{kind} 보완 요청 (신고 번호 {notice_id})",
        "incomplete_intro": (
            "보내 주신 {kind} 건(신고 번호 {notice_id})을 받았으나, 다음 필수 항목이 빠져 있어 "
            "아직 처리할 수 없습니다."
        ),
        "incomplete_invalid": "다음 항목은 보내 주신 형식으로는 받을 수 없었습니다: {fields}",
        "incomplete_again": (
            "위 항목을 모두 갖추어 {kind} 건을 다시 보내 주십시오. "
            "이번 신고의 접수 번호는 {receipt}입니다."
        ),
        "suspended_subject": "{kind} 기록 안내 (신고 번호 {notice_id})",
        "suspended_intro": (
            "보내 주신 {kind} 건(신고 번호 {notice_id}, 접수 번호 {receipt})은 기록되었으나 "
            "사건으로 등록되지 않았습니다. 이전에 보내신 신고가 명백히 근거 없는 것으로 "
            "판단되어 이 발신자의 신고가 정지되어 있기 때문입니다(EU 디지털서비스법 제23조)."
        ),
        "suspended_contest": (
            "정지가 잘못되었다고 생각하시면 이의를 제기하실 수 있습니다. 이 서비스의 운영자에게 "
            "접수 번호와 그 이유를 적어 보내 주십시오."
        ),
        "outcome_subject": "사건 {case_id}번 결정 안내",
        "outcome_intro": "신고하신 내용이 포함된 사건 {case_id}번의 결정을 알려 드립니다.",
        "outcome_remove": "결정: 해당 콘텐츠를 삭제했습니다.",
        "outcome_restrict": "결정: 해당 콘텐츠에 대한 접근을 차단했습니다.",
        "outcome_keep": (
            "결정: 해당 콘텐츠를 유지합니다. 법령이나 이용약관을 위반한다고 판단하지 않았습니다."
        ),
        "ground_illegal": "근거: {law}에 따른 불법 콘텐츠",
        "ground_terms": "근거: 이용약관 위반({terms})",
        "checked_illegal": "검토 기준: {law}",
        "checked_terms": "검토 기준: 이용약관({terms})",
        "unspecified": "명시되지 않음",
        "reasons": "이유: {reasons}",
        "decided": "결정 일시: {human} ({iso})",
        "appeal_heading": "이의 제기 방법",
        "appeal_body": (
            "결정에 동의하지 않으시면 재검토를 요청하실 수 있으며, 다른 담당자가 사건을 다시 "
            "검토합니다. 결정일로부터 {months}개월 이내, {until}까지 요청하실 수 있습니다"
            "(EU 디지털서비스법 제20조). 다음 두 가지가 필요합니다.\n"
            "- 접수 번호: {receipt}\n"
            "- 결정이 잘못되었다고 생각하시는 이유(몇 문장이면 충분합니다)"
        ),
        "appeal_how": (
            "보내는 방법: 아래 주소로 HTTP POST 요청을 보내고, 본문에 접수 번호와 이유를 JSON "
            "형식으로 담아 주십시오. 직접 하기 어려우시면 도움을 줄 수 있는 분께 이 안내를 "
            "전달하셔도 됩니다.\n"
            "주소: POST {url}\n"
            "본문: {body}"
        ),
        "appeal_page": (
            "가장 쉬운 방법: 이 서비스의 이의 제기 페이지({page})를 열고 사건 번호 {case_id}, "
            "접수 번호, 이유를 입력하십시오. 계정이 없어도 됩니다."
        ),
        "appeal_how_also": (
            "프로그램으로 보내실 수도 있습니다. 아래 주소로 HTTP POST 요청을 보내고, 본문에 접수 "
            "번호와 이유를 JSON 형식으로 담아 주십시오.\n"
            "주소: POST {url}\n"
            "본문: {body}"
        ),
        "appeal_reasons_placeholder": "<결정이 잘못되었다고 생각하시는 이유>",
        "appeal_outcome_subject": "이의 제기 결과 안내 (사건 {case_id}번)",
        "appeal_upheld": (
            "다른 담당자가 사건 {case_id}번을 다시 검토한 결과, 기존 결정을 유지하기로 했습니다."
        ),
        "appeal_changed": (
            "다른 담당자가 사건 {case_id}번을 다시 검토한 결과, 기존 결정을 변경했습니다."
        ),
        "appeal_further": (
            "이 결과에도 동의하지 않으시면 인증된 법원 외 분쟁 해결 기관에 분쟁 해결을 신청하실 수 "
            "있으며(EU 디지털서비스법 제21조), 언제든지 법원에 소를 제기하실 수도 있습니다."
        ),
        "statement_removed": "게시하신 콘텐츠가 삭제되었습니다.",
        "statement_disabled": "게시하신 콘텐츠에 대한 접근이 차단되었습니다.",
        "statement_restricted": "게시하신 콘텐츠가 제한되었습니다.",
        "statement_illegal": "이유: {law}에 따른 불법 콘텐츠입니다.",
        "statement_terms": "이유: 이용약관({terms})에 맞지 않는 콘텐츠입니다.",
        "statement_category": "유형: {category}",
        "statement_facts": "사실 관계와 판단 이유: {facts}",
        "statement_detected_yes": "이 콘텐츠는 자동화된 수단으로 탐지되었습니다.",
        "statement_detected_no": "이 콘텐츠는 자동화된 수단으로 탐지되지 않았습니다.",
        "statement_decided_fully": "이 결정은 전적으로 자동화된 수단으로 내려졌습니다.",
        "statement_decided_partially": "이 결정에는 자동화된 수단이 일부 사용되었습니다.",
        "statement_decided_not": "이 결정은 자동화된 수단이 아닌 사람이 내렸습니다.",
        "statement_date": "결정일: {date}",
        "statement_reference": "참조 번호: {puid}",
        "statement_redress_heading": "이 결정에 이의를 제기하는 방법",
        "statement_redress": (
            "- 콘텐츠를 게시한 플랫폼을 통해 결정일로부터 {months}개월 이내, {until}까지 이의를 "
            "제기하실 수 있습니다(EU 디지털서비스법 제20조). 다른 담당자가 다시 검토하며, 위 참조 "
            "번호를 함께 알려 주십시오.\n"
            "- 인증된 법원 외 분쟁 해결 기관에 분쟁 해결을 신청하실 수 있습니다(제21조).\n"
            "- 법원에 소를 제기하실 수 있습니다. 위 절차를 거치더라도 재판을 받을 권리는 그대로 "
            "유지됩니다."
        ),
    },
}

#: What each notice kind is called in a sentence; an unknown kind is "notice".
KINDS: dict[Language, dict[str, str]] = {
    "en": {
        "takedown_request": "takedown request",
        "dsa_notice": "notice",
        "authority_order": "order",
        "trusted_flagger": "notice",
        "user_report": "report",
        "other": "notice",
    },
    "ko": {
        "takedown_request": "삭제 요청",
        "dsa_notice": "신고",
        "authority_order": "기관 요청",
        "trusted_flagger": "신고",
        "user_report": "신고",
        "other": "신고",
    },
}

#: The required elements of notices (jikimi.cases.notices.REQUIRED), in a notifier's words.
ELEMENTS: dict[Language, dict[str, str]] = {
    "en": {
        "signature": "your signature (your full name)",
        "locators": "where the content is: links to it, or its hashes",
        "good_faith_statement": "your statement, in good faith, that the notice is accurate",
        "contact": "how to reach you: an email address or a phone number",
        "contact.email": "your email address",
        "explanation": "why the content is illegal or not allowed",
        "name": "your name",
        "issuing_body": "the authority issuing the order",
        "reference": "the order's reference",
        "legal_basis": "the legal basis of the order",
        "flagger_id": "your trusted flagger identifier",
        "reason": "the reason for the report",
        "reporter": "who is reporting",
    },
    "ko": {
        "signature": "서명(성명)",
        "locators": "콘텐츠의 위치(링크 또는 해시값)",
        "good_faith_statement": "신고 내용이 정확하며 선의로 신고한다는 진술",
        "contact": "연락처(이메일 주소 또는 전화번호)",
        "contact.email": "이메일 주소",
        "explanation": "콘텐츠가 불법이거나 허용되지 않는 이유",
        "name": "성명",
        "issuing_body": "명령을 내린 기관",
        "reference": "명령의 문서 번호",
        "legal_basis": "명령의 법적 근거",
        "flagger_id": "신뢰 신고자 식별자",
        "reason": "신고 사유",
        "reporter": "신고자",
    },
}

#: Statement categories (DSA Transparency Database, API v2) in plain words.
CATEGORIES: dict[Language, dict[str, str]] = {
    "en": {
        "STATEMENT_CATEGORY_CYBER_VIOLENCE": (
            "cyber violence, including intimate images shared without consent (real, fake or "
            "AI-generated)"
        ),
        "STATEMENT_CATEGORY_PROTECTION_OF_MINORS": "protection of minors",
        "STATEMENT_CATEGORY_OTHER_VIOLATION_TC": "a breach of the terms of service",
    },
    "ko": {
        "STATEMENT_CATEGORY_CYBER_VIOLENCE": (
            "사이버 폭력(실제·합성·AI 생성 이미지를 포함해 동의 없이 공유된 성적 이미지)"
        ),
        "STATEMENT_CATEGORY_PROTECTION_OF_MINORS": "미성년자 보호",
        "STATEMENT_CATEGORY_OTHER_VIOLATION_TC": "이용약관 위반",
    },
}


MONTH_NAMES: dict[Language, tuple[str, ...]] = {
    "en": (
        "January", "February", "March", "April", "May", "June", "July", "August", "September",
        "October", "November", "December",
    ),
    "ko": tuple(f"{n}월" for n in range(1, 13)),
}  # fmt: skip
WEEKDAY_NAMES: dict[Language, tuple[str, ...]] = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "ko": ("월", "화", "수", "목", "금", "토", "일"),
}
