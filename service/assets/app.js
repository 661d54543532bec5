// Tandem dashboard: plain JavaScript, no framework, no build step.
// Routes: #/ (overview) and #/lead/<id> (one lead). Data: /api/dashboard/summary,
// /api/dashboard/journeys/<name>.svg, /api/leads/<id>, /api/leads/<id>/last_email,
// /api/webhooks and /api/webhooks/failures (admin); live updates from /api/stream (SSE).
'use strict';

(() => {
  const LS_TOKEN = 'tandem.token';
  const LS_LANG = 'tandem.lang';
  const REFRESH_MIN_MS = 1500;
  const RECONNECT_MS = 3000;

  // ---------------------------------------------------------------- texts

  const I18N = {
    vi: {
      skip: 'Bỏ qua đến nội dung chính',
      tagline: 'Bảng điều khiển nuôi dưỡng khách hàng',
      page_title: 'Tandem — Bảng điều khiển chung của Marketing và Sales',
      period: 'Khoảng thời gian',
      period_from: 'Từ ngày',
      period_to: 'Đến ngày',
      period_reset: '30 ngày qua',
      period_invalid: 'Ngày bắt đầu phải trước hoặc bằng ngày kết thúc',
      lang_group: 'Ngôn ngữ',
      live_on: 'Trực tiếp',
      live_off: 'Mất kết nối',
      live_connecting: 'Đang kết nối…',
      live_title_on: 'Đang nhận cập nhật trực tiếp',
      live_title_off: 'Không nhận được cập nhật trực tiếp; đang thử kết nối lại',
      login_title: 'Nhập mã truy cập',
      login_help: 'Dịch vụ in mã khi khởi động và lưu trong tệp tandem.token.',
      login_label: 'Mã truy cập (token)',
      login_submit: 'Đăng nhập',
      login_refused: 'Mã không hợp lệ hoặc đã bị thu hồi. Vui lòng nhập lại.',
      net_error: 'Không kết nối được máy chủ. Đang thử lại…',
      server_error: 'Máy chủ báo lỗi ({status}): {msg}',
      loading: 'Đang tải…',
      empty: 'Chưa có dữ liệu trong kỳ này.',
      none: 'Không có.',
      unknown_key: '(không rõ)',
      total: 'Tổng cộng',
      yes: 'có',
      no: 'không',

      now_badge: 'Hiện tại',
      now_hint: 'Con số lúc này, không phụ thuộc khoảng thời gian',
      period_badge: 'Trong kỳ',
      period_hint: 'Trong khoảng {from} – {to}',
      stage_subscriber: 'Người đăng ký',
      stage_lead: 'Khách hàng tiềm năng',
      stage_mql: 'MQL (Marketing duyệt)',
      stage_sql: 'SQL (Sales nhận)',
      stage_opportunity: 'Cơ hội bán hàng',
      stage_customer: 'Khách hàng',
      stage_disqualified: 'Bị loại',
      trend_title: 'Xu hướng theo ngày',
      trend_hint: 'Đường liền: kỳ đang xem. Đường đứt: kỳ ngay trước ({from} – {to}).',
      trend_metric: 'Chỉ số',
      trend_stage: 'Vào giai đoạn {stage}',
      trend_accepted: 'Sales nhận',
      trend_rejected: 'Sales trả lại',
      trend_sent: 'Email đã gửi',
      trend_this: 'Kỳ này',
      trend_prev: 'Kỳ trước',
      trend_change: 'so với kỳ trước',
      trend_no_prev: 'kỳ trước chưa có dữ liệu',
      trend_table: 'Số liệu theo ngày: {metric}',
      col_day: 'Ngày',
      sla_title: 'Việc của Sales và hạn SLA',
      sla_hint: 'Việc đang chờ Sales nhận; bật “Chỉ việc trễ hạn” để xem mọi việc đã quá hạn, kể cả việc đã nhận nhưng chưa xong. Hạn tính theo giờ làm việc của đội.',
      sla_team: 'Đội',
      sla_rep: 'Nhân viên',
      sla_all: 'Tất cả',
      sla_late_only: 'Chỉ việc trễ hạn',
      sla_forbidden: 'Mã truy cập này không có quyền xem việc của Sales (cần quyền sales).',
      sla_error: 'Không tải được danh sách việc: {msg}',
      col_lead: 'Lead',
      col_task_status: 'Trạng thái',
      col_due: 'Hạn',
      col_late_by: 'Trễ',
      col_escalated: 'Đã báo lên',
      task_open: 'Chờ nhận',
      task_accepted: 'Đã nhận, chưa xong',
      escalated_to: '{n} lần, gần nhất cho {to} lúc {at}',
      not_late: 'Còn hạn',
      no_deadline: 'Không có hạn',
      pager_prev: '‹ Trước',
      pager_next: 'Sau ›',
      pager_range: '{from}–{to}',
      leads_title_stage: 'Lead đang ở giai đoạn {stage}',
      leads_title_journey: 'Lead đang trong hành trình {journey}',
      leads_total: '{n} lead',
      col_company: 'Công ty',
      col_owner: 'Phụ trách',
      show_leads: 'Xem {n} lead ở {what}',
      show_tasks: 'Xem việc của {rep}',
      feed_scores: 'Hiện thay đổi điểm',
      email_unique_hint: 'Đã mở / đã nhấp: số email được mở (nhấp) ít nhất một lần, mỗi lead và mẫu tính một lần; lượt thô ở cột bên cạnh.',
      col_opens_raw: 'Lượt mở',
      col_clicks_raw: 'Lượt nhấp',
      unattributed: 'Ngoài ra {opens} lượt mở và {clicks} lượt nhấp cho email lead chưa từng nhận (không tính vào tỉ lệ).',
      diagram_zoom: 'Thu phóng sơ đồ',
      pager_label: 'Chuyển trang',
      table_of: 'Bảng: {name}',
      col_bars: 'Biểu đồ',
      zoom_in: 'Phóng to sơ đồ',
      zoom_out: 'Thu nhỏ sơ đồ',

      funnel_title: 'Phễu chuyển đổi',
      split_label: 'Cách xem phễu',
      split_all: 'Tổng',
      split_source: 'Theo nguồn',
      split_journey: 'Theo hành trình',
      col_stage: 'Giai đoạn',
      col_current: 'Hiện tại',
      col_reached: 'Đạt trong kỳ',
      col_conversion: 'Chuyển sang bước sau',
      legend_current: 'Hiện tại: số lead đang ở giai đoạn',
      legend_reached: 'Đạt trong kỳ: số lead bước vào giai đoạn trong khoảng thời gian đã chọn',
      outside_funnel: 'Ngoài phễu',
      split_caption: 'Số lead đạt từng giai đoạn trong kỳ, {by}',
      by_source: 'theo nguồn',
      by_journey: 'theo hành trình',
      col_source: 'Nguồn',
      col_journey: 'Hành trình',

      journeys_title: 'Hành trình',
      col_name: 'Tên',
      col_active: 'Đang tham gia',
      col_entered: 'Đã vào',
      col_completed: 'Hoàn tất',
      col_exited: 'Đã rời',
      col_goal: 'Đạt mục tiêu',
      show_diagram: 'Xem sơ đồ hành trình {name}',
      diagram_title: 'Sơ đồ: {name}',
      diagram_hint: 'Số lead đang chờ ở từng bước và tỉ lệ rẽ nhánh.',
      diagram_loading: 'Đang tải sơ đồ…',
      diagram_error: 'Không tải được sơ đồ.',
      diagram_alt: 'Sơ đồ hành trình {name}',
      diagram_actual: 'Kích thước thật',
      no_journeys: 'Chương trình chưa có hành trình nào.',

      email_title: 'Email',
      col_template: 'Mẫu email',
      col_sent: 'Đã gửi',
      col_opened: 'Đã mở',
      col_clicked: 'Đã nhấp',
      col_bounced: 'Bị trả về',
      col_suppressed: 'Bị chặn',
      col_open_rate: 'Tỉ lệ mở',
      col_click_rate: 'Tỉ lệ nhấp',

      handoff_title: 'Bàn giao cho Sales',
      reps_caption: 'Việc theo nhóm và người phụ trách',
      col_team: 'Nhóm',
      col_assignee: 'Người phụ trách',
      col_open: 'Đang mở',
      col_accepted: 'Đã nhận',
      col_rejected: 'Từ chối',
      col_overdue: 'Quá hạn',
      median_title: 'Thời gian nhận việc (trung vị)',
      col_median: 'Trung vị',
      reasons_title: 'Phản hồi cho Marketing: lý do Sales trả lead về',
      reasons_hint: 'Dùng để điều chỉnh nguồn và hành trình tạo ra lead chưa phù hợp.',
      col_reason: 'Lý do',
      col_count: 'Số lượng',

      recent_title: 'Hoạt động gần đây',
      col_time: 'Thời gian',
      col_lead: 'Lead',
      col_kind: 'Loại',
      col_details: 'Chi tiết',
      find_lead: 'Mở lead theo mã',
      find_lead_go: 'Mở',

      back: '← Tổng quan',
      lead_title: 'Lead {id}',
      lead_not_found: 'Không tìm thấy lead “{id}”.',
      lead_stage: 'Giai đoạn',
      stage_cause: 'Vì sao',
      fields_title: 'Thông tin lead',
      col_field: 'Trường',
      col_value: 'Giá trị',
      scores_title: 'Điểm số',
      score_value: 'Điểm',
      attribute_part: 'Phần thuộc tính',
      event_part: 'Phần sự kiện',
      col_points: 'Điểm',
      col_condition: 'Điều kiện (if)',
      col_counted: 'Được tính',
      counted: 'được tính',
      not_counted: 'không tính',
      no_if_lines: 'Không có dòng if: điểm này chỉ đến từ sự kiện.',
      no_scores: 'Chương trình không có điểm số.',
      history_title: 'Lịch sử giai đoạn',
      history_hint: 'Trong các dòng thời gian gần nhất.',
      no_history: 'Chưa đổi giai đoạn trong các dòng gần đây.',
      col_from_to: 'Thay đổi',
      lead_journeys_title: 'Hành trình của lead',
      col_step: 'Bước',
      col_state: 'Trạng thái',
      no_lead_journeys: 'Lead không ở trong hành trình nào.',
      tasks_title: 'Việc của Sales',
      col_task: 'Mã việc',
      col_handoff: 'Bàn giao',
      col_status: 'Trạng thái',
      col_created: 'Tạo lúc',
      col_accepted_at: 'Nhận lúc',
      no_tasks: 'Chưa có việc nào.',
      timeline_title: 'Dòng thời gian',
      no_timeline: 'Chưa có dòng nào.',

      delivery_title: 'Tình trạng gửi đi',
      webhook_paused: 'Webhook “{name}” đang tạm dừng',
      webhook_paused_since: 'Tạm dừng từ {since}. Lý do: {reason}',
      webhook_paused_hint: 'Các lần gửi tới webhook này đang chờ và sẽ tiếp tục khi bạn bật lại.',
      webhook_resume: 'Tiếp tục gửi',
      webhook_resumed: 'Đã bật lại webhook “{name}”.',
      webhooks_pending: 'Đang chờ gửi',
      webhooks_sent: 'Đã gửi',
      webhooks_failed: 'Thất bại',
      webhooks_none: 'Chương trình không có webhook nào.',
      webhooks_forbidden: 'Cần mã quản trị (admin) để xem tình trạng webhook.',
      webhooks_error: 'Không tải được tình trạng webhook: {msg}',
      failures_title: 'Các lần gửi webhook thất bại gần nhất',
      failures_more: 'Hiển thị {n} trong số {total} lần thất bại.',
      col_webhook: 'Webhook',
      col_last_status: 'Mã phản hồi cuối',
      col_error: 'Lỗi',
      col_attempts: 'Số lần thử',
      col_action: 'Thao tác',
      redeliver: 'Gửi lại',
      redeliver_label: 'Gửi lại lần gửi {id} tới webhook {name}',
      redelivered: 'Đã xếp lần gửi {id} vào hàng đợi để gửi lại.',
      action_failed: 'Không thực hiện được: {msg}',
      render_failures: '{n} email không được gửi vì mẫu email bị lỗi khi tạo nội dung (tính từ lúc dịch vụ khởi động; xem nhật ký dịch vụ).',
      quarantined: '{n} yêu cầu trong hàng đợi bị tạm gác lại vì lỗi lặp lại; các yêu cầu khác vẫn được xử lý. Xem và thử lại: GET /api/inbox/quarantine.',
      program_refused: 'Chương trình trong thư mục bị từ chối: phiên bản {v} đang chạy vẫn được giữ. Sửa các lỗi sau rồi nạp lại:',

      last_email_title: 'Email gần nhất',
      email_subject: 'Tiêu đề',
      email_from: 'Người gửi',
      email_to: 'Người nhận',
      email_view: 'Xem email dạng',
      email_view_html: 'HTML',
      email_view_text: 'Văn bản',
      email_frame_title: 'Nội dung email: {subject}',
      email_untracked: 'Hiển thị không kèm theo dõi: xem ở đây không được tính là mở hay nhấp email.',
      no_email: 'Chưa có email nào gửi cho lead này.',
      mail_pending: 'đang chờ gửi',
      mail_sent: 'đã gửi',
      mail_failed: 'gửi thất bại',

      footer_version: 'Phiên bản dữ liệu',
      footer_generated: 'cập nhật lúc',
      footer_tz: 'múi giờ',

      status_open: 'đang mở',
      status_accepted: 'đã nhận',
      status_rejected: 'bị từ chối',
      status_completed: 'hoàn thành',

      state_running: 'đang chạy',
      state_waiting: 'đang chờ',
      state_wait_for: 'chờ {d}',
      state_wait_until: 'chờ đến {t}',
      state_wait_event: 'chờ sự kiện {e}',
      state_wait_cond: 'chờ đến khi điều kiện đúng',

      cause_creation: 'khi tạo lead',
      cause_update: 'do một lần cập nhật dữ liệu',
      cause_rule: 'quy tắc {x}',
      cause_journey: 'hành trình {x}',
      cause_schedule: 'lịch {x}',
      cause_handoff: 'bàn giao {x}',

      exit_completed: 'hoàn tất',
      exit_exit: 'thoát',
      exit_goal: 'đạt mục tiêu',

      dur_d: 'ngày',
      dur_h: 'giờ',
      dur_m: 'phút',
      dur_s: 'giây',

      kind: {
        lead_created: 'Tạo lead',
        lead_updated: 'Cập nhật lead',
        event: 'Sự kiện',
        score_changed: 'Đổi điểm',
        stage_changed: 'Đổi giai đoạn',
        tag_added: 'Gắn thẻ',
        tag_removed: 'Gỡ thẻ',
        rule_fired: 'Quy tắc chạy',
        journey_entered: 'Vào hành trình',
        journey_exited: 'Rời hành trình',
        email_sent: 'Gửi email',
        email_suppressed: 'Chặn email',
        email_deferred: 'Hoãn email',
        notified: 'Thông báo',
        webhook_called: 'Gọi webhook',
        task_created: 'Tạo việc',
        task_escalated: 'Báo cấp trên',
        task_reassigned: 'Giao lại việc',
        task_accepted: 'Nhận việc',
        task_completed: 'Xong việc',
        task_rejected: 'Trả lead về',
        report_sent: 'Gửi báo cáo',
        error: 'Lỗi',
      },
    },
    en: {
      skip: 'Skip to the main content',
      tagline: 'Lead nurturing dashboard',
      page_title: 'Tandem — the shared dashboard of Marketing and Sales',
      period: 'Period',
      period_from: 'From',
      period_to: 'To',
      period_reset: 'Last 30 days',
      period_invalid: 'The start date must not be after the end date',
      lang_group: 'Language',
      live_on: 'Live',
      live_off: 'Disconnected',
      live_connecting: 'Connecting…',
      live_title_on: 'Receiving live updates',
      live_title_off: 'Not receiving live updates; reconnecting',
      login_title: 'Enter the access token',
      login_help: 'The service prints the token when it starts and keeps it in the file tandem.token.',
      login_label: 'Access token',
      login_submit: 'Sign in',
      login_refused: 'The token was refused. Please enter it again.',
      net_error: 'Cannot reach the server. Retrying…',
      server_error: 'Server error ({status}): {msg}',
      loading: 'Loading…',
      empty: 'No data in this period yet.',
      none: 'None.',
      unknown_key: '(unknown)',
      total: 'Total',
      yes: 'yes',
      no: 'no',

      now_badge: 'Now',
      now_hint: 'The figure at this moment, whatever the period',
      period_badge: 'In period',
      period_hint: 'From {from} to {to}',
      stage_subscriber: 'Subscriber',
      stage_lead: 'Lead',
      stage_mql: 'MQL (marketing qualified)',
      stage_sql: 'SQL (sales accepted)',
      stage_opportunity: 'Opportunity',
      stage_customer: 'Customer',
      stage_disqualified: 'Disqualified',
      trend_title: 'Trend by day',
      trend_hint: 'Solid line: the period shown. Dashed line: the period just before ({from} – {to}).',
      trend_metric: 'Figure',
      trend_stage: 'Entered {stage}',
      trend_accepted: 'Accepted by Sales',
      trend_rejected: 'Rejected by Sales',
      trend_sent: 'Emails sent',
      trend_this: 'This period',
      trend_prev: 'Previous period',
      trend_change: 'vs previous period',
      trend_no_prev: 'nothing in the previous period',
      trend_table: 'Figures by day: {metric}',
      col_day: 'Day',
      sla_title: 'Sales tasks and SLA deadlines',
      sla_hint: 'Tasks waiting for Sales to accept them; tick “Late tasks only” for every task past its deadline, accepted but not completed ones too. Deadlines count the team\'s business hours.',
      sla_team: 'Team',
      sla_rep: 'Rep',
      sla_all: 'All',
      sla_late_only: 'Late tasks only',
      sla_forbidden: 'This token may not read Sales tasks (it needs the sales scope).',
      sla_error: 'The task list did not load: {msg}',
      col_lead: 'Lead',
      col_task_status: 'Status',
      col_due: 'Due',
      col_late_by: 'Late by',
      col_escalated: 'Escalated',
      task_open: 'Waiting for accept',
      task_accepted: 'Accepted, not completed',
      escalated_to: '{n}×, last to {to} at {at}',
      not_late: 'On time',
      no_deadline: 'No deadline',
      pager_prev: '‹ Previous',
      pager_next: 'Next ›',
      pager_range: '{from}–{to}',
      leads_title_stage: 'Leads in stage {stage} now',
      leads_title_journey: 'Leads in journey {journey} now',
      leads_total: '{n} leads',
      col_company: 'Company',
      col_owner: 'Owner',
      show_leads: 'Show the {n} leads in {what}',
      show_tasks: 'Show the tasks of {rep}',
      feed_scores: 'Show score changes',
      email_unique_hint: 'Opened / clicked: emails opened (clicked) at least once, each lead and template counted once; raw counts beside them.',
      col_opens_raw: 'Opens',
      col_clicks_raw: 'Clicks',
      unattributed: 'Also {opens} opens and {clicks} clicks for emails the lead was never sent (not in the rates).',
      diagram_zoom: 'Diagram zoom',
      pager_label: 'Pages',
      table_of: 'Table: {name}',
      col_bars: 'Bars',
      zoom_in: 'Zoom the diagram in',
      zoom_out: 'Zoom the diagram out',

      funnel_title: 'Funnel',
      split_label: 'Funnel view',
      split_all: 'All',
      split_source: 'By source',
      split_journey: 'By journey',
      col_stage: 'Stage',
      col_current: 'Now',
      col_reached: 'Reached in period',
      col_conversion: 'Conversion to next',
      legend_current: 'Now: leads currently in the stage',
      legend_reached: 'Reached in period: leads that entered the stage in the selected period',
      outside_funnel: 'Outside the funnel',
      split_caption: 'Leads that reached each stage in the period, {by}',
      by_source: 'by source',
      by_journey: 'by journey',
      col_source: 'Source',
      col_journey: 'Journey',

      journeys_title: 'Journeys',
      col_name: 'Name',
      col_active: 'Active',
      col_entered: 'Entered',
      col_completed: 'Completed',
      col_exited: 'Exited',
      col_goal: 'Goal reached',
      show_diagram: 'Show the diagram of journey {name}',
      diagram_title: 'Diagram: {name}',
      diagram_hint: 'Leads waiting at each step and branch shares.',
      diagram_loading: 'Loading the diagram…',
      diagram_error: 'Could not load the diagram.',
      diagram_alt: 'Diagram of journey {name}',
      diagram_actual: 'Actual size',
      no_journeys: 'The program has no journeys.',

      email_title: 'Email',
      col_template: 'Template',
      col_sent: 'Sent',
      col_opened: 'Opened',
      col_clicked: 'Clicked',
      col_bounced: 'Bounced',
      col_suppressed: 'Suppressed',
      col_open_rate: 'Open rate',
      col_click_rate: 'Click rate',

      handoff_title: 'Handoff to Sales',
      reps_caption: 'Tasks by team and rep',
      col_team: 'Team',
      col_assignee: 'Rep',
      col_open: 'Open',
      col_accepted: 'Accepted',
      col_rejected: 'Rejected',
      col_overdue: 'Overdue',
      median_title: 'Median time to accept',
      col_median: 'Median',
      reasons_title: 'Feedback loop to Marketing: why Sales sent leads back',
      reasons_hint: 'Use it to tune the sources and journeys that produce leads Sales cannot use.',
      col_reason: 'Reason',
      col_count: 'Count',

      recent_title: 'Recent activity',
      col_time: 'Time',
      col_lead: 'Lead',
      col_kind: 'Kind',
      col_details: 'Details',
      find_lead: 'Open a lead by id',
      find_lead_go: 'Open',

      back: '← Overview',
      lead_title: 'Lead {id}',
      lead_not_found: 'There is no lead “{id}”.',
      lead_stage: 'Stage',
      stage_cause: 'Why',
      fields_title: 'Lead fields',
      col_field: 'Field',
      col_value: 'Value',
      scores_title: 'Scores',
      score_value: 'Score',
      attribute_part: 'Attribute part',
      event_part: 'Event part',
      col_points: 'Points',
      col_condition: 'Condition (if)',
      col_counted: 'Counted',
      counted: 'counted',
      not_counted: 'not counted',
      no_if_lines: 'No if lines: this score comes from events only.',
      no_scores: 'The program has no scores.',
      history_title: 'Stage history',
      history_hint: 'Within the most recent timeline lines.',
      no_history: 'No stage change in the recent lines.',
      col_from_to: 'Change',
      lead_journeys_title: 'Journeys of this lead',
      col_step: 'Step',
      col_state: 'State',
      no_lead_journeys: 'The lead is in no journey.',
      tasks_title: 'Sales tasks',
      col_task: 'Task',
      col_handoff: 'Handoff',
      col_status: 'Status',
      col_created: 'Created',
      col_accepted_at: 'Accepted',
      no_tasks: 'No tasks yet.',
      timeline_title: 'Timeline',
      no_timeline: 'No lines yet.',

      delivery_title: 'Delivery health',
      webhook_paused: 'Webhook “{name}” is paused',
      webhook_paused_since: 'Paused since {since}. Reason: {reason}',
      webhook_paused_hint: 'Deliveries to this webhook wait until you resume it.',
      webhook_resume: 'Resume',
      webhook_resumed: 'Webhook “{name}” is resumed.',
      webhooks_pending: 'Pending',
      webhooks_sent: 'Sent',
      webhooks_failed: 'Failed',
      webhooks_none: 'The program has no webhooks.',
      webhooks_forbidden: 'An admin token is needed to see webhook deliveries.',
      webhooks_error: 'Could not load the webhook deliveries: {msg}',
      failures_title: 'Latest failed webhook deliveries',
      failures_more: 'Showing {n} of {total} failed deliveries.',
      col_webhook: 'Webhook',
      col_last_status: 'Last status',
      col_error: 'Error',
      col_attempts: 'Attempts',
      col_action: 'Action',
      redeliver: 'Re-deliver',
      redeliver_label: 'Re-deliver {id} to webhook {name}',
      redelivered: 'Delivery {id} is queued again.',
      action_failed: 'Could not do it: {msg}',
      render_failures: '{n} emails were not sent because their template failed to render (since the service started; see the service log).',
      quarantined: '{n} queued requests were set aside after failing repeatedly; the others go on. See and retry them: GET /api/inbox/quarantine.',
      program_refused: 'The program folder was refused: version {v} keeps running. Fix these errors, then reload:',

      last_email_title: 'Last email',
      email_subject: 'Subject',
      email_from: 'From',
      email_to: 'To',
      email_view: 'Show the email as',
      email_view_html: 'HTML',
      email_view_text: 'Text',
      email_frame_title: 'Email body: {subject}',
      email_untracked: 'Shown without tracking: viewing it here counts as no open and no click.',
      no_email: 'No email was sent to this lead yet.',
      mail_pending: 'waiting to be sent',
      mail_sent: 'sent',
      mail_failed: 'failed',

      footer_version: 'Data version',
      footer_generated: 'generated at',
      footer_tz: 'time zone',

      status_open: 'open',
      status_accepted: 'accepted',
      status_rejected: 'rejected',
      status_completed: 'completed',

      state_running: 'running',
      state_waiting: 'waiting',
      state_wait_for: 'waiting {d}',
      state_wait_until: 'waiting until {t}',
      state_wait_event: 'waiting for event {e}',
      state_wait_cond: 'waiting until a condition holds',

      cause_creation: "the lead's creation",
      cause_update: 'an update input',
      cause_rule: 'rule {x}',
      cause_journey: 'journey {x}',
      cause_schedule: 'schedule {x}',
      cause_handoff: 'handoff {x}',

      exit_completed: 'completed',
      exit_exit: 'exit',
      exit_goal: 'goal reached',

      dur_d: 'd',
      dur_h: 'h',
      dur_m: 'min',
      dur_s: 's',

      kind: {
        lead_created: 'Lead created',
        lead_updated: 'Lead updated',
        event: 'Event',
        score_changed: 'Score changed',
        stage_changed: 'Stage changed',
        tag_added: 'Tag added',
        tag_removed: 'Tag removed',
        rule_fired: 'Rule fired',
        journey_entered: 'Entered journey',
        journey_exited: 'Left journey',
        email_sent: 'Email sent',
        email_suppressed: 'Email suppressed',
        email_deferred: 'Email deferred',
        notified: 'Notified',
        webhook_called: 'Webhook called',
        task_created: 'Task created',
        task_escalated: 'Task escalated',
        task_reassigned: 'Task reassigned',
        task_accepted: 'Task accepted',
        task_completed: 'Task completed',
        task_rejected: 'Lead sent back',
        report_sent: 'Report sent',
        error: 'Error',
      },
    },
  };

  // ---------------------------------------------------------------- state

  const state = {
    token: null,
    lang: 'vi',
    summary: null,
    version: null,
    lead: null,
    leadId: null,
    leadMissing: false,
    route: { name: 'overview' },
    period: { from: '', to: '', custom: false },
    split: 'all',
    journey: null,
    diagram: { key: null, name: null, status: 'idle' },
    diagramNatural: false,
    diagramZoom: 1,
    es: null,
    reconnectTimer: null,
    sig: {},
    recentSeen: null,
    // Webhook endpoints and latest failures (admin scope): status idle | ok | error | forbidden.
    hooks: { status: 'idle' },
    // The lead's last email: { id, status: 'ok' | 'none' | 'forbidden' | 'error', mail }.
    lastEmail: null,
    emailView: 'html',
    // The trend chart's figure: 'stage:<name>', 'accepted', 'rejected' or 'sent'.
    trendMetric: null,
    // The SLA list: filters, page, and the last answer (status idle | ok | error | forbidden).
    sla: { team: '', assignee: '', late: false, offset: 0, status: 'idle', tasks: [], more: false },
    // The lead list behind a count (#/leads?stage=… or ?journey=…).
    leads: null,
    feedScores: false,
  };
  const SLA_PAGE = 20;
  const LEADS_PAGE = 50;

  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  function lsGet(key) {
    try { return window.localStorage.getItem(key); } catch (_) { return null; }
  }
  function lsSet(key, value) {
    try {
      if (value == null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, value);
    } catch (_) { /* storage may be disabled: keep the value in memory only */ }
  }

  function t(key, vars) {
    const dict = I18N[state.lang] || I18N.vi;
    let s = dict[key];
    if (s == null) s = I18N.vi[key];
    if (s == null) s = key;
    if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] == null ? m : String(vars[k])));
    return s;
  }
  function kindLabel(kind) {
    const k = (I18N[state.lang] || I18N.vi).kind[kind];
    return k || kind;
  }

  // Builds an element; children may be nodes, strings, numbers, arrays, null.
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v == null || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = v;
        else if (k === 'style') Object.assign(el.style, v);
        else if (k === 'dataset') Object.assign(el.dataset, v);
        else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? '' : String(v));
      }
    }
    append(el, children);
    return el;
  }
  function append(el, children) {
    for (const c of children) {
      if (c == null || c === false) continue;
      if (Array.isArray(c)) append(el, c);
      else el.append(c instanceof Node ? c : String(c));
    }
  }

  // ---------------------------------------------------------------- formatting

  function locale() { return state.lang === 'en' ? 'en-US' : 'vi-VN'; }
  function timezone() { return (state.summary && state.summary.timezone) || undefined; }

  const fmtCache = new Map();
  function cached(key, make) {
    let f = fmtCache.get(key);
    if (!f) { f = make(); fmtCache.set(key, f); }
    return f;
  }
  function fmtNum(n) {
    if (n == null || typeof n !== 'number' || !Number.isFinite(n)) return '—';
    return cached('n|' + locale(), () => new Intl.NumberFormat(locale(), { maximumFractionDigits: 2 })).format(n + 0); // -0 → 0
  }
  function fmtPct(r) {
    if (r == null || typeof r !== 'number' || !Number.isFinite(r)) return '—';
    return cached('p|' + locale(), () => new Intl.NumberFormat(locale(), { style: 'percent', maximumFractionDigits: 1 })).format(r);
  }
  function ratio(a, b) { return b ? a / b : null; }
  function dateFmt(kind) {
    const tz = timezone();
    return cached(`d|${kind}|${locale()}|${tz}`, () => {
      const opts = kind === 'clock' ? { hour: '2-digit', minute: '2-digit', second: '2-digit' }
        : kind === 'day' ? { day: '2-digit', month: '2-digit' }
          : kind === 'date' ? { year: 'numeric', month: '2-digit', day: '2-digit' }
            : { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' };
      try { return new Intl.DateTimeFormat(locale(), { ...opts, timeZone: tz }); } catch (_) { return new Intl.DateTimeFormat(locale(), opts); }
    });
  }
  function toDate(v) {
    if (v == null || v === '') return null;
    const d = typeof v === 'number' ? new Date(v * 1000) : new Date(v);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  function fmtTime(v, kind = 'long') {
    const d = toDate(v);
    return d ? dateFmt(kind).format(d) : '—';
  }
  function timeEl(v, kind = 'long') {
    const d = toDate(v);
    if (!d) return '—';
    return h('time', { datetime: d.toISOString(), title: kind === 'long' ? null : fmtTime(d) }, fmtTime(d, kind));
  }
  // Clock time, with the day under it when it is not the day of the summary.
  function feedTime(v) {
    const d = toDate(v);
    if (!d) return '—';
    const today = state.summary && toDate(state.summary.generated_at);
    const sameDay = today && fmtTime(today, 'date') === fmtTime(d, 'date');
    return h('time', { datetime: d.toISOString(), title: fmtTime(d) }, fmtTime(d, 'clock'),
      sameDay ? null : h('span', { class: 'feed-day' }, fmtTime(d, 'day')));
  }
  // 7505 s -> "2 giờ 5 phút" / "2 h 5 min": the two largest non-zero units.
  function fmtDuration(sec) {
    if (sec == null || typeof sec !== 'number' || !Number.isFinite(sec)) return '—';
    let s = Math.max(0, Math.round(sec));
    const units = [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]];
    const parts = [];
    for (const [u, size] of units) {
      const n = Math.floor(s / size);
      s -= n * size;
      if (n > 0) parts.push(`${fmtNum(n)} ${t('dur_' + u)}`);
      if (parts.length === 2) break;
      if (parts.length === 1 && n === 0) break; // "2 h" rather than "2 h 0 min … 5 s"
    }
    return parts.length ? parts.join(' ') : `0 ${t('dur_s')}`;
  }
  function keyLabel(key) { return key === '' || key == null ? t('unknown_key') : key; }
  function fmtValue(v) {
    if (v == null || v === '') return '—';
    if (typeof v === 'boolean') return v ? t('yes') : t('no');
    if (typeof v === 'number') return fmtNum(v);
    if (Array.isArray(v)) return v.length ? v.map(fmtValue).join(', ') : '—';
    if (typeof v === 'object') return JSON.stringify(v);
    if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v)) return fmtTime(v);
    return v;
  }
  function fmtPoints(p) {
    if (typeof p !== 'number') return '—';
    return (p > 0 ? '+' : p < 0 ? '−' : '') + fmtNum(Math.abs(p));
  }
  function code(s) { return h('code', null, s); }

  // "rule `qualify_mql`" and friends, in the chosen language.
  function fmtCause(c) {
    if (!c) return '—';
    const strip = (x) => x.replace(/`/g, '');
    let m;
    if (c === "the lead's creation") return t('cause_creation');
    if (c === 'an update input') return t('cause_update');
    if ((m = /^rule\s+(.+)$/.exec(c))) return t('cause_rule', { x: strip(m[1]) });
    if ((m = /^journey\s+(.+)$/.exec(c))) return t('cause_journey', { x: strip(m[1]) });
    if ((m = /^schedule\s+(.+)$/.exec(c))) return t('cause_schedule', { x: strip(m[1]) });
    if ((m = /^handoff\s+(.+)$/.exec(c))) return t('cause_handoff', { x: strip(m[1]) });
    return c;
  }
  function fmtJourneyState(s) {
    if (!s) return '—';
    let m;
    if (s === 'running') return t('state_running');
    if (s === 'waiting') return t('state_waiting');
    if (s === 'waiting until a condition holds') return t('state_wait_cond');
    if ((m = /^waiting (\d+(?:\.\d+)?) s\b/.exec(s))) return t('state_wait_for', { d: fmtDuration(Number(m[1])) });
    if ((m = /^waiting until (\d{4}-\d{2}-\d{2}T[^ ]+)/.exec(s)) && toDate(m[1])) return t('state_wait_until', { t: fmtTime(m[1]) });
    if ((m = /^waiting until (\d{1,2}:\d{2})/.exec(s))) return t('state_wait_until', { t: m[1] });
    if ((m = /^waiting for `?([^`]+)`?$/.exec(s))) return t('state_wait_event', { e: m[1] });
    return s;
  }
  function fmtStatus(s) { const k = 'status_' + s; const v = t(k); return v === k ? (s || '—') : v; }
  function fmtExitReason(r) { const k = 'exit_' + r; const v = t(k); return v === k ? r : v; }

  // The details of one timeline line (kind-specific keys), as short text.
  function lineDetails(l) {
    const j = l.journey ? ` · ${l.journey}` : '';
    const props = (o) => Object.entries(o || {}).map(([k, v]) => `${k}=${fmtValue(v)}`).join(', ');
    switch (l.kind) {
      case 'lead_created': return '';
      case 'lead_updated': return props(l.fields);
      case 'event': return [l.event, props(l.props)].filter(Boolean).join(' · ');
      case 'score_changed': return `${l.score} = ${fmtNum(l.value)}`;
      case 'stage_changed': return `${l.from ?? '—'} → ${l.to ?? '—'}`;
      case 'tag_added': return `+ ${l.tag}`;
      case 'tag_removed': return `− ${l.tag}`;
      case 'rule_fired': return l.rule || '';
      case 'journey_entered': return l.journey || '';
      case 'journey_exited': return `${l.journey}${l.reason ? ` (${fmtExitReason(l.reason)})` : ''}`;
      case 'email_sent': return `${l.template}${l.subject ? ` — ${l.subject}` : ''}${j}`;
      case 'email_suppressed': return `${l.template} (${l.reason})${j}`;
      case 'email_deferred': return `${l.template} → ${fmtTime(l.until)}${j}`;
      case 'notified': return `${(l.to || []).join(', ')}: ${l.text || ''}`;
      case 'webhook_called': return l.webhook || '';
      case 'task_created': return `${l.task} · ${l.team} · ${l.assignee || '—'}`;
      case 'task_escalated': return `${l.task} → ${l.to}`;
      case 'task_reassigned': return `${l.task}: ${l.from} → ${l.to}`;
      case 'task_accepted':
      case 'task_completed': return `${l.task}${l.by ? ` · ${l.by}` : ''}`;
      case 'task_rejected': return `${l.task}${l.by ? ` · ${l.by}` : ''} · ${l.reason}`;
      case 'report_sent': return `${l.schedule} → ${Array.isArray(l.to) ? l.to.join(', ') : l.to}`;
      case 'error': return `${l.code}: ${l.message}`;
      default: {
        const rest = { ...l };
        delete rest.at; delete rest.lead; delete rest.kind;
        return props(rest);
      }
    }
  }

  // ---------------------------------------------------------------- API

  class AuthError extends Error {}
  class HttpError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function api(path, as = 'json', method = 'GET', cache = 'no-store') {
    let res;
    try {
      res = await fetch(path, { method, headers: { Authorization: `Bearer ${state.token}` }, cache });
    } catch (e) {
      throw new HttpError(0, String(e && e.message || e));
    }
    if (res.status === 401) throw new AuthError('unauthorized');
    if (!res.ok) {
      let msg = res.statusText;
      try { const body = await res.json(); if (body && body.error && body.error.message) msg = body.error.message; } catch (_) { /* not JSON */ }
      throw new HttpError(res.status, msg);
    }
    return as === 'text' ? res.text() : res.json();
  }

  function summaryQuery() {
    const p = state.period;
    if (!p.custom || !p.from || !p.to) return '';
    return `?from=${encodeURIComponent(p.from)}&to=${encodeURIComponent(p.to)}`;
  }

  // ---------------------------------------------------------------- refresh (debounced)

  const refresh = { timer: null, inflight: false, pending: false, last: 0 };

  function requestRefresh() {
    refresh.pending = true;
    if (refresh.timer || refresh.inflight) return;
    const wait = Math.max(0, refresh.last + REFRESH_MIN_MS - Date.now());
    refresh.timer = setTimeout(runRefresh, wait);
  }

  async function runRefresh() {
    refresh.timer = null;
    if (!refresh.pending || !state.token) return;
    // A tab in the background fetches nothing; it catches up when shown again.
    if (document.hidden) return;
    refresh.pending = false;
    refresh.inflight = true;
    refresh.last = Date.now();
    try {
      await loadData();
    } finally {
      refresh.inflight = false;
      if (refresh.pending) requestRefresh();
    }
  }

  // What a live update says changed (section names), or null: fetch everything. The summary
  // is then asked for those sections only, the diagram only when the step counts changed
  // (and at most every DIAGRAM_MIN_MS), the task list only when a task changed, and the
  // delivery panel (not part of the stream) at most every HOOKS_MIN_MS.
  const live = { seen: null, changed: null, hooksAt: 0, diagramAt: 0, diagramStale: false, diagramRound: 0 };
  const DIAGRAM_MIN_MS = 15000;
  const HOOKS_MIN_MS = 5000;
  // Sections that change with almost every lead but are read as a whole (a chart by day,
  // tables of totals) are re-fetched at most this often; the funnel and the feed at once.
  const SLOW_MS = { trend: 10000, journeys: 5000, email: 5000, handoff: 5000 };
  const fetchedAt = {};
  function onLiveUpdate(data) {
    let msg = null;
    try { msg = JSON.parse(data); } catch (_) { /* an old server: a version only */ }
    // The first event of a connection names every section; later ones only those changed.
    const sections = msg && msg.sections;
    if (sections && !live.seen && !state.summary) {
      // Before the first summary: the load under way shows these versions or older ones;
      // what is newer is asked once it is in (see settleFirstEvent).
      live.firstSections = sections;
      return;
    }
    if (sections && !live.seen && state.summary && !state.summary.cluster && typeof state.summary.version === 'number') {
      // The first event of the first connection: what changed since the summary shown.
      if (live.changed !== null) {
        const newer = Object.entries(sections).filter(([, v]) => v > state.summary.version).map(([k]) => k);
        live.changed = [...new Set([...live.changed, ...newer])];
      }
      live.seen = sections;
      if (live.changed !== null && !live.changed.length) return;
    } else if (!sections || !live.seen) {
      live.changed = null;
    } else if (live.changed !== null) {
      const now = new Set(live.changed);
      for (const [k, v] of Object.entries(sections)) if (live.seen[k] !== v) now.add(k);
      live.changed = [...now];
    }
    if (sections) live.seen = { ...(live.seen || {}), ...sections };
    requestRefresh();
  }
  // After the first load: the sections the stream's first event says changed since.
  function settleFirstEvent() {
    const first = live.firstSections;
    if (!first || !state.summary) return;
    live.firstSections = null;
    live.seen = first;
    if (state.summary.cluster || typeof state.summary.version !== 'number') { live.changed = null; requestRefresh(); return; }
    const newer = Object.entries(first).filter(([, v]) => v > state.summary.version).map(([k]) => k);
    if (newer.length) { live.changed = [...new Set([...(live.changed || []), ...newer])]; requestRefresh(); }
  }

  function summaryPath(changed) {
    const q = summaryQuery();
    if (!changed || !state.summary) return '/api/dashboard/summary' + q;
    const want = changed.filter((k) => k !== 'steps');
    let path = '/api/dashboard/summary' + (q ? q + '&' : '?') + 'sections=' + encodeURIComponent(want.join(','));
    // Recent lines: only those newer than the newest shown (one engine numbers them; a
    // cluster's partitions each do, so there the whole list is asked).
    const seq = recentSeq();
    if (want.includes('recent') && seq != null && !state.summary.cluster) path += '&recent_after=' + seq;
    return path;
  }
  function recentSeq() {
    const list = (state.summary && state.summary.recent) || [];
    return list.length && typeof list[0].seq === 'number' ? list[0].seq : null;
  }
  // A partial summary over the one shown: its sections replace theirs; recent lines asked
  // with recent_after go before the ones shown.
  function mergeSummary(old, part, path) {
    const out = { ...old, ...part };
    if (/[?&]recent_after=/.test(path) && Array.isArray(part.recent)) out.recent = part.recent.concat(old.recent || []).slice(0, 20);
    return out;
  }

  async function loadData() {
    const route = state.route;
    // Partial after a full load at the same period; away from the overview no section is
    // shown, so only the version is asked (the overview asks for everything on return).
    let changed = state.summary && live.changed !== null
      ? (route.name === 'overview' ? live.changed : live.changed.filter((k) => k === 'steps')) : null;
    live.changed = [];
    const now = Date.now();
    if (changed) {
      // Slow sections wait for their turn (kept as changed, with a refresh when it comes).
      const later = changed.filter((k) => SLOW_MS[k] && now - (fetchedAt[k] || 0) < SLOW_MS[k]);
      if (later.length) {
        live.changed = later;
        const wait = Math.min(...later.map((k) => (fetchedAt[k] || 0) + SLOW_MS[k] - now));
        setTimeout(requestRefresh, Math.max(0, wait));
        changed = changed.filter((k) => !later.includes(k));
      }
    }
    for (const k of changed || Object.keys(SLOW_MS)) fetchedAt[k] = now;
    const needSummary = !changed || changed.some((k) => k !== 'steps') || route.name !== 'overview';
    const path = summaryPath(changed);
    const jobs = [needSummary ? api(path, 'json', 'GET', 'no-cache') : Promise.resolve(null)];
    if (route.name === 'lead') jobs.push(api('/api/leads/' + encodeURIComponent(route.id)));
    const hooks = route.name === 'overview' && (!changed || now - live.hooksAt >= HOOKS_MIN_MS) ? (live.hooksAt = now, loadHooks()) : null;
    const tasks = route.name === 'overview' && (!changed || changed.includes('handoff')) ? loadSla() : null;
    const list = route.name === 'leads' ? loadLeads(route) : null;
    if (!changed || changed.includes('steps')) live.diagramStale = true;
    // The lead list is the page itself: waited for. The task list and the delivery panel
    // are drawn when they come, without holding back the summary's cards.
    const [sum, lead] = await Promise.allSettled(jobs);
    await list;
    const others = Promise.all([hooks, tasks]).then(() => { if (state.route === route && route.name === 'overview') { renderSla(); renderDelivery(); } });
    const failures = [sum, lead].filter((r) => r && r.status === 'rejected').map((r) => r.reason);
    if (failures.some((e) => e instanceof AuthError)) { onUnauthorized(); return; }

    let problem = null;
    if (sum.status === 'fulfilled') {
      if (sum.value) applySummary(changed ? mergeSummary(state.summary, sum.value, path) : sum.value);
    } else {
      problem = sum.reason;
      live.changed = null; // fetch everything next time
    }
    if (lead && route === state.route) {
      if (lead.status === 'fulfilled') {
        state.lead = lead.value; state.leadId = route.id; state.leadMissing = false;
      } else if (lead.reason instanceof HttpError && lead.reason.status === 404) {
        state.lead = null; state.leadId = route.id; state.leadMissing = true;
      } else {
        problem = problem || lead.reason;
      }
      if (state.lead && state.leadId === route.id) await loadLastEmail(route.id, state.lead);
    }
    showProblem(problem);
    render();
    settleFirstEvent();
    if (state.route.name === 'overview' && live.diagramStale) {
      const wait = live.diagramAt + DIAGRAM_MIN_MS - Date.now();
      if (!changed || wait <= 0) {
        live.diagramStale = false; live.diagramAt = Date.now(); live.diagramRound++;
        loadDiagram();
      } else setTimeout(requestRefresh, wait);
    }
    await others;
  }

  // Webhook endpoints and the latest failures, for the delivery-health panel. They need the
  // admin scope: after a 403 the panel stops asking (until another token is entered).
  const FAILURES_SHOWN = 5;
  async function loadHooks() {
    if (state.hooks.status === 'forbidden') return;
    try {
      const [list, fails] = await Promise.all([
        api('/api/webhooks'),
        api('/api/webhooks/failures?limit=' + FAILURES_SHOWN),
      ]);
      state.hooks = { status: 'ok', list, failures: (fails && fails.failures) || [], notice: state.hooks.notice };
    } catch (e) {
      if (e instanceof AuthError) return; // the summary's answer signs out
      if (e instanceof HttpError && e.status === 403) state.hooks = { status: 'forbidden' };
      else state.hooks = { ...state.hooks, status: 'error', error: e.message };
    }
  }

  // The lead's last email. Asked only when there can be one: an email_sent line in the lead's
  // recent timeline, a timeline cut at its limit (older lines may hold one), or one shown
  // before — so a lead never mailed costs no request (and no 404 in the console).
  const TIMELINE_LIMIT = 50;
  async function loadLastEmail(id, lead) {
    const tl = lead.timeline || [];
    const prev = state.lastEmail && state.lastEmail.id === id ? state.lastEmail : null;
    if (prev && prev.status === 'forbidden') return;
    const maybe = tl.some((l) => l.kind === 'email_sent') || tl.length >= TIMELINE_LIMIT || (prev && prev.status === 'ok');
    if (!maybe) { state.lastEmail = { id, status: 'none' }; return; }
    try {
      const mail = await api('/api/leads/' + encodeURIComponent(id) + '/last_email');
      if (state.route.id === id) state.lastEmail = { id, status: 'ok', mail };
    } catch (e) {
      if (e instanceof AuthError || state.route.id !== id) return;
      const status = e instanceof HttpError && e.status === 404 ? 'none'
        : e instanceof HttpError && e.status === 403 ? 'forbidden' : 'error';
      state.lastEmail = { id, status, error: e.message, mail: prev && prev.mail };
    }
  }

  function applySummary(s) {
    state.summary = s;
    state.version = typeof s.version === 'number' ? s.version : state.version;
    if (!state.period.custom && s.period) {
      state.period.from = s.period.from || '';
      state.period.to = s.period.to || '';
      syncPeriodInputs();
    }
    $('#summary-version').textContent = s.version == null ? '—' : String(s.version);
    $('#summary-tz').textContent = s.timezone || '—';
    const gen = $('#summary-generated');
    gen.textContent = fmtTime(s.generated_at);
    const d = toDate(s.generated_at);
    if (d) gen.setAttribute('datetime', d.toISOString());
  }

  function showProblem(err) {
    const banner = $('#banner');
    if (!err) { banner.hidden = true; banner.textContent = ''; return; }
    banner.textContent = err.status ? t('server_error', { status: err.status, msg: err.message }) : t('net_error');
    banner.hidden = false;
    if (!err.status) setTimeout(requestRefresh, RECONNECT_MS);
  }

  // ---------------------------------------------------------------- live stream

  // The stream is read with fetch, so the token travels in the Authorization header
  // (an EventSource could only put it in the URL, where proxies and logs keep it).
  function connectStream() {
    disconnectStream();
    if (!state.token) return;
    setLive('connecting');
    const ctrl = new AbortController();
    const es = { close: () => ctrl.abort() };
    state.es = es;
    const retry = () => {
      if (state.es !== es) return;
      setLive('off');
      state.es = null;
      clearTimeout(state.reconnectTimer);
      // Try again, and let a summary fetch find out whether the token is still good.
      state.reconnectTimer = setTimeout(() => { requestRefresh(); connectStream(); }, RECONNECT_MS);
    };
    fetch('/api/stream', {
      headers: { Authorization: `Bearer ${state.token}`, Accept: 'text/event-stream' },
      cache: 'no-store',
      signal: ctrl.signal,
    }).then(async (res) => {
      if (state.es !== es) return;
      if (!res.ok || !res.body) { retry(); return; }
      setLive('on');
      // After a lost connection, catch up on everything; the first connection's first
      // event says what changed since the first load.
      if (live.connectedOnce) { live.changed = null; live.seen = null; requestRefresh(); }
      live.connectedOnce = true;
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
        let end;
        // Every `update` event ({"version": n, "sections": {…}}) says what changed: re-fetch that, at
        // most once per REFRESH_MIN_MS.
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (/^event: ?update$/m.test(block) && state.es === es) {
            const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
            onLiveUpdate(data);
          }
        }
      }
      retry();
    }).catch(retry);
  }

  function disconnectStream() {
    clearTimeout(state.reconnectTimer);
    if (state.es) { state.es.close(); state.es = null; }
    setLive('off');
  }

  function setLive(s) {
    const el = $('#live');
    el.dataset.state = s;
    const label = $('.live-label', el);
    const key = s === 'on' ? 'live_on' : s === 'connecting' ? 'live_connecting' : 'live_off';
    label.dataset.i18n = key;
    label.textContent = t(key);
    el.title = t(s === 'on' ? 'live_title_on' : 'live_title_off');
  }

  // ---------------------------------------------------------------- auth

  function onUnauthorized() {
    const had = !!state.token;
    state.token = null;
    lsSet(LS_TOKEN, null);
    disconnectStream();
    showLogin(had);
  }

  function showLogin(refused) {
    document.body.classList.add('logged-out');
    $('#login').hidden = false;
    $('#login-error').hidden = !refused;
    $('#view-overview').hidden = true;
    $('#view-lead').hidden = true;
    $('#banner').hidden = true;
    $('#token-input').focus();
  }

  function onLoginSubmit(e) {
    e.preventDefault();
    const v = $('#token-input').value.trim();
    if (!v) return;
    setToken(v);
    $('#token-input').value = '';
    $('#login').hidden = true;
    start();
  }

  function setToken(v) {
    state.token = v;
    lsSet(LS_TOKEN, v);
    state.hooks = { status: 'idle' }; // another token may have other scopes
    state.lastEmail = null;
  }

  // ---------------------------------------------------------------- routing

  function parseRoute() {
    const hash = window.location.hash || '';
    const m = /^#\/lead\/(.+)$/.exec(hash);
    if (m) {
      let id = m[1];
      try { id = decodeURIComponent(id); } catch (_) { /* keep it raw */ }
      return { name: 'lead', id };
    }
    const l = /^#\/leads\?(.*)$/.exec(hash);
    if (l) {
      const q = new URLSearchParams(l[1]);
      const page = Math.max(0, parseInt(q.get('page') || '0', 10) || 0);
      if (q.get('stage')) return { name: 'leads', stage: q.get('stage'), page };
      if (q.get('journey')) return { name: 'leads', journey: q.get('journey'), page };
    }
    return { name: 'overview' };
  }

  // #token=XYZ: keep the token, then show the overview (on first load or a pasted link).
  function takeTokenFromHash() {
    const m = /^#token=([^&]*)/.exec(window.location.hash || '');
    if (!m) return false;
    let tok = m[1];
    try { tok = decodeURIComponent(tok); } catch (_) { /* keep it raw */ }
    if (tok) setToken(tok);
    history.replaceState(null, '', window.location.pathname + window.location.search + '#/');
    return !!tok;
  }

  function onRoute() {
    if (takeTokenFromHash()) {
      state.route = parseRoute();
      $('#login').hidden = true;
      start();
      return;
    }
    const r = parseRoute();
    state.route = r;
    if (r.name === 'lead' && r.id !== state.leadId) { state.lead = null; state.leadMissing = false; state.leadId = null; }
    render();
    window.scrollTo(0, 0);
    live.changed = null; // a new view: everything it shows, fresh
    if (state.token) requestRefresh();
  }

  function leadHref(id) { return '#/lead/' + encodeURIComponent(id); }
  function leadsHref(kind, name, page = 0) {
    return `#/leads?${kind}=${encodeURIComponent(name)}${page ? '&page=' + page : ''}`;
  }

  // ---------------------------------------------------------------- i18n

  function applyI18n(root = document) {
    for (const el of $$('[data-i18n]', root)) el.textContent = t(el.dataset.i18n);
    for (const el of $$('[data-i18n-label]', root)) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
    for (const el of $$('[data-i18n-placeholder]', root)) el.setAttribute('placeholder', t(el.dataset.i18nPlaceholder));
  }

  function setLang(lang) {
    if (!I18N[lang]) lang = 'vi';
    state.lang = lang;
    lsSet(LS_LANG, lang);
    document.documentElement.lang = lang;
    for (const b of $$('.lang button')) b.setAttribute('aria-pressed', String(b.dataset.lang === lang));
    $('.lang').setAttribute('aria-label', lang === 'en' ? 'Language / Ngôn ngữ' : 'Ngôn ngữ / Language');
    applyI18n();
    setLive($('#live').dataset.state || 'off');
    state.sig = {};
    if (state.summary) applySummary(state.summary);
    render();
    if (state.route.name === 'overview') loadDiagram();
  }

  // ---------------------------------------------------------------- period

  function syncPeriodInputs() {
    const f = $('#period-from'), to = $('#period-to');
    if (document.activeElement !== f) f.value = state.period.from || '';
    if (document.activeElement !== to) to.value = state.period.to || '';
    $('#period-reset').disabled = !state.period.custom;
  }

  function onPeriodChange() {
    const from = $('#period-from').value, to = $('#period-to').value;
    const err = $('#period-error');
    if (!from || !to) return;
    const bad = from > to;
    err.hidden = !bad;
    $('#period-from').setAttribute('aria-invalid', String(bad));
    $('#period-to').setAttribute('aria-invalid', String(bad));
    if (bad) return;
    state.period = { from, to, custom: true };
    $('#period-reset').disabled = false;
    live.changed = null;
    requestRefresh();
  }

  function onPeriodReset() {
    state.period.custom = false;
    $('#period-error').hidden = true;
    $('#period-reset').disabled = true;
    live.changed = null;
    requestRefresh();
  }

  // ---------------------------------------------------------------- render: shared bits

  function card(id, titleKey, ...body) {
    return h('section', { class: 'card', id, 'aria-labelledby': id + '-title' },
      h('header', { class: 'card-head' }, h('h2', { id: id + '-title', 'data-i18n': titleKey }, t(titleKey))),
      body);
  }
  // A table in a horizontally scrolling, keyboard-focusable box. On a phone each row becomes
  // a card: every cell carries its column's name (data-label) for the CSS to show.
  function table(cls, caption, headers, rows, foot) {
    const el = h('table', { class: cls },
      caption ? h('caption', { class: caption.visible ? '' : 'sr-only' }, caption.text) : null,
      h('thead', null, h('tr', null, headers.map((hd) => h('th', { scope: 'col', class: [hd.num ? 'num' : '', hd.cls || ''].join(' ').trim() || null }, hd.text)))),
      h('tbody', null, rows),
      foot ? h('tfoot', null, foot) : null);
    // A header's own words, without its "now" / "in period" label.
    const labels = headers.map((hd) => (hd.text instanceof Node
      ? Array.from(hd.text.childNodes).filter((n) => !(n.classList && n.classList.contains('scope'))).map((n) => n.textContent).join('').trim()
      : String(hd.text || '')));
    el.dataset.labels = JSON.stringify(labels);
    const wrap = h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': t('table_of', { name: caption ? caption.text : labels.filter(Boolean).join(', ') }) }, el);
    labelRows(wrap);
    return wrap;
  }
  // Gives every body cell its column's name (again, after rows were added).
  function labelRows(root) {
    const el = root.tagName === 'TABLE' ? root : root.querySelector('table');
    const labels = JSON.parse(el.dataset.labels || '[]');
    for (const tr of el.querySelectorAll('tbody tr, tfoot tr')) {
      Array.from(tr.children).forEach((cell, i) => { if (labels[i] && !cell.hasAttribute('colspan')) cell.dataset.label = labels[i]; });
    }
  }
  function num(value, testid, extra) {
    return h('td', { class: 'num' + (extra ? ' ' + extra : ''), 'data-testid': testid, 'data-value': value == null ? '' : String(value) }, fmtNum(value));
  }
  function pctCell(r, testid) {
    return h('td', { class: 'num', 'data-testid': testid, 'data-value': r == null ? '' : String(r) }, fmtPct(r));
  }
  // A "now" count that opens the list of the leads behind it (#/leads?stage=… / ?journey=…).
  function countLink(value, testid, kind, name, what, extra) {
    const v = value == null ? '' : String(value);
    return h('td', { class: 'num' + (extra ? ' ' + extra : ''), 'data-testid': testid, 'data-value': v },
      value ? h('a', { href: leadsHref(kind, name), title: t('show_leads', { n: fmtNum(value), what }) },
        fmtNum(value), h('span', { class: 'sr-only' }, ' — ' + t('show_leads', { n: fmtNum(value), what }))) : fmtNum(value));
  }
  function emptyRow(cols, key = 'empty') {
    return h('tr', { class: 'empty' }, h('td', { colspan: cols }, t(key)));
  }
  function slug(s) { return String(s === '' ? '_unknown' : s).replace(/[^\p{L}\p{N}_.@:-]+/gu, '_'); }

  // Replaces a container's children only when the data it shows changed.
  function update(container, sigKey, data, build) {
    const sig = JSON.stringify([state.lang, timezone(), data]);
    if (state.sig[sigKey] === sig && container.childElementCount) return;
    state.sig[sigKey] = sig;
    container.replaceChildren(...[].concat(build()).filter((c) => c != null && c !== false));
  }

  // ---------------------------------------------------------------- render: overview

  function ensureOverview() {
    const root = $('#view-overview');
    if (root.childElementCount) return root;
    const splitTabs = h('div', { class: 'tabs', role: 'tablist', 'data-i18n-label': 'split_label', 'aria-label': t('split_label') },
      [['all', 'split_all'], ['source', 'split_source'], ['journey', 'split_journey']].map(([v, k]) =>
        h('button', {
          type: 'button', role: 'tab', id: 'split-tab-' + v, 'aria-controls': 'funnel-body',
          'aria-selected': String(state.split === v), 'data-split': v, 'data-i18n': k,
          'data-testid': 'split-' + v,
          onclick: () => { state.split = v; for (const b of $$('[data-split]')) b.setAttribute('aria-selected', String(b.dataset.split === v)); renderFunnel(); },
        }, t(k))));
    const funnel = card('funnel', 'funnel_title', h('div', { id: 'funnel-body', class: 'card-body', role: 'tabpanel' }));
    $('.card-head', funnel).append(splitTabs);

    const journeys = card('journeys', 'journeys_title',
      h('div', { id: 'journeys-body', class: 'card-body' }),
      h('div', { class: 'diagram-wrap' },
        h('div', { class: 'diagram-head' },
          h('h3', { id: 'diagram-title' }),
          h('button', {
            type: 'button', id: 'diagram-size', class: 'ghost small', 'aria-pressed': 'false', 'data-i18n': 'diagram_actual',
            onclick: (e) => {
              state.diagramNatural = !state.diagramNatural;
              e.currentTarget.setAttribute('aria-pressed', String(state.diagramNatural));
              const svg = $('#journey-diagram svg');
              if (svg) applyDiagramSize(svg);
            },
          }, t('diagram_actual')),
          h('span', { class: 'zoom', role: 'group', 'aria-label': t('diagram_zoom') },
            h('button', { type: 'button', class: 'ghost small', 'aria-label': t('zoom_out'), 'data-testid': 'diagram-zoom-out', onclick: () => zoomDiagram(1 / 1.25) }, '−'),
            h('button', { type: 'button', class: 'ghost small', 'aria-label': t('zoom_in'), 'data-testid': 'diagram-zoom-in', onclick: () => zoomDiagram(1.25) }, '+'))),
        h('p', { class: 'hint', 'data-i18n': 'diagram_hint' }, t('diagram_hint')),
        h('div', { id: 'journey-diagram', class: 'diagram', 'aria-live': 'polite', 'data-testid': 'journey-diagram', tabindex: '0', role: 'region', 'aria-labelledby': 'diagram-title' })));

    const email = card('email', 'email_title', h('p', { class: 'hint', 'data-i18n': 'email_unique_hint' }, t('email_unique_hint')),
      h('div', { id: 'email-body', class: 'card-body' }));
    const trend = card('trend', 'trend_title', h('div', { id: 'trend-body', class: 'card-body' }));
    const sla = card('sla', 'sla_title', h('p', { class: 'hint', 'data-i18n': 'sla_hint' }, t('sla_hint')),
      h('div', { id: 'sla-filters', class: 'filters' }), h('div', { id: 'sla-body', class: 'card-body', 'data-testid': 'sla-list' }));
    const handoff = card('handoff', 'handoff_title', h('div', { id: 'handoff-body', class: 'card-body' }));

    const find = h('form', { class: 'find-lead', onsubmit: (e) => {
      e.preventDefault();
      const v = $('#find-lead-input').value.trim();
      if (v) window.location.hash = leadHref(v);
    } },
    h('label', { for: 'find-lead-input', 'data-i18n': 'find_lead' }, t('find_lead')),
    h('div', { class: 'inline' },
      h('input', { id: 'find-lead-input', type: 'text', autocomplete: 'off', spellcheck: 'false' }),
      h('button', { type: 'submit', 'data-i18n': 'find_lead_go' }, t('find_lead_go'))));
    const recent = card('recent', 'recent_title',
      h('label', { class: 'check' }, h('input', { type: 'checkbox', id: 'feed-scores', 'data-testid': 'feed-scores', onchange: (e) => { state.feedScores = e.target.checked; renderRecent(); } }),
        ' ', h('span', { 'data-i18n': 'feed_scores' }, t('feed_scores'))),
      h('div', { id: 'recent-body', class: 'card-body' }), find);

    // Delivery health: each part re-rendered on its own, so an alert is announced once.
    const delivery = card('delivery', 'delivery_title', h('div', { id: 'delivery-body', class: 'card-body', 'data-testid': 'delivery-panel' },
      h('div', { id: 'delivery-alerts' }),
      h('div', { id: 'delivery-render' }),
      h('div', { id: 'delivery-counts' }),
      h('div', { id: 'delivery-failures' }),
      h('p', { id: 'delivery-notice', role: 'status', 'data-testid': 'delivery-notice' })));
    delivery.hidden = true;
    root.append(h('div', { class: 'grid overview' }, delivery, funnel, recent, trend, journeys, email, handoff, sla));
    return root;
  }

  // The funnel first; on the first load the other cards follow a frame later, so the
  // numbers people open the page for are on screen as soon as the summary is here.
  let overviewShown = false;
  function renderOverview() {
    ensureOverview();
    renderFunnel();
    renderRecent();
    const rest = () => {
      renderJourneys();
      renderEmail();
      renderHandoff();
      renderTrend();
      renderSla();
      renderDelivery();
      renderProgramRefused();
      renderQuarantine();
    };
    if (overviewShown || !state.summary) rest();
    else { overviewShown = true; requestAnimationFrame(() => setTimeout(() => { if (state.route.name === 'overview') rest(); }, 0)); }
  }

  // A program folder refused at start (`--keep-running-version`): a red banner with the
  // checker's errors, until a version is installed.
  function renderProgramRefused() {
    const box = $('#program-refused');
    if (!box) return;
    const r = state.summary && state.summary.program_refused;
    box.hidden = !r;
    box.replaceChildren();
    if (!r) return;
    box.append(h('p', { class: 'alert-title' }, t('program_refused', { v: String(r.running_version) })));
    box.append(h('ul', null, ...(r.errors || []).map((e) => h('li', null, e))));
  }

  // Requests a cluster set aside after failing repeatedly (quarantine): a warning with
  // their number, until an operator retries them.
  function renderQuarantine() {
    const box = $('#quarantine');
    if (!box) return;
    const n = (state.summary && state.summary.cluster && state.summary.cluster.quarantined) || 0;
    box.hidden = !(n > 0);
    box.dataset.value = String(n);
    box.textContent = n > 0 ? t('quarantined', { n: fmtNum(n) }) : '';
  }

  // Delivery health: paused webhook endpoints (with Resume), failed deliveries (with
  // Re-deliver) and emails whose template did not render. Hidden while all is quiet.
  function renderDelivery() {
    const panel = $('#delivery');
    if (!panel) return;
    const s = state.summary;
    const hk = state.hooks;
    const ok = hk.status === 'ok';
    const endpoints = (ok && hk.list && hk.list.endpoints) || [];
    const counts = (ok && hk.list && hk.list.deliveries) || {};
    const failures = (ok && hk.failures) || [];
    const rendered = s && typeof s.mail_render_failures === 'number' ? s.mail_render_failures : 0;
    const paused = endpoints.filter((e) => e.paused);
    panel.hidden = !(rendered > 0 || endpoints.length || counts.failed > 0 || counts.pending > 0 || hk.status === 'error' || hk.notice);
    if (panel.hidden) return;

    update($('#delivery-alerts'), 'delivery-alerts', paused.map((e) => [e.name, e.paused]), () => paused.map((e) =>
      h('div', { class: 'alert alert-danger', role: 'alert', 'data-testid': 'webhook-paused', 'data-webhook': e.name },
        h('p', { class: 'alert-title' }, t('webhook_paused', { name: e.name })),
        h('p', null, t('webhook_paused_since', { since: fmtTime(e.paused.since), reason: e.paused.reason || '—' })),
        h('p', { class: 'hint' }, t('webhook_paused_hint')),
        h('button', {
          type: 'button', class: 'primary', 'data-testid': 'webhook-resume',
          onclick: (ev) => hookAction(ev.currentTarget, `/api/webhooks/endpoints/${encodeURIComponent(e.name)}/resume`, 'webhook_resumed', { name: e.name }),
        }, t('webhook_resume')))));

    update($('#delivery-render'), 'delivery-render', rendered, () => (rendered > 0
      ? h('p', { class: 'alert alert-warn', 'data-testid': 'mail-render-failures', 'data-value': String(rendered) }, t('render_failures', { n: fmtNum(rendered) }))
      : []));

    update($('#delivery-counts'), 'delivery-counts', [hk.status, hk.error, endpoints.length, counts], () => {
      if (hk.status === 'forbidden') return h('p', { class: 'muted' }, t('webhooks_forbidden'));
      if (hk.status === 'error') return h('p', { class: 'field-error' }, t('webhooks_error', { msg: hk.error }));
      if (!ok) return [];
      const item = (k) => h('li', null, t('webhooks_' + k) + ': ',
        h('b', { class: k === 'failed' && counts[k] > 0 ? 'bad' : null, 'data-testid': 'webhooks-' + k, 'data-value': String(counts[k] ?? 0) }, fmtNum(counts[k] ?? 0)));
      return [
        endpoints.length ? null : h('p', { class: 'muted' }, t('webhooks_none')),
        h('ul', { class: 'delivery-counts' }, item('pending'), item('sent'), item('failed')),
      ].filter(Boolean);
    });

    update($('#delivery-failures'), 'delivery-failures', [failures, counts.failed], () => {
      if (!failures.length) return [];
      const rows = failures.map((f) => {
        const log = f.attempt_log || [];
        const last = log.length ? log[log.length - 1] : null;
        return h('tr', { 'data-testid': 'webhook-failure-row', 'data-id': f.id },
          h('td', { class: 'nowrap' }, timeEl((last && last.at) || f.at)),
          h('td', null, code(f.webhook)),
          h('td', { class: 'details' }, f.lead != null && f.lead !== ''
            ? h('a', { href: leadHref(f.lead), class: 'lead-link', 'data-testid': 'webhook-failure-lead' }, f.lead) : '—'),
          h('td', null, h('span', { class: 'badge', title: f.kind }, kindLabel(f.kind))),
          h('td', { class: 'num', 'data-testid': 'webhook-failure-status' }, f.last_status == null ? '—' : String(f.last_status)),
          h('td', { class: 'details', 'data-testid': 'webhook-failure-error' }, f.error || '—'),
          num(f.attempts, null),
          h('td', null, h('button', {
            type: 'button', class: 'small', 'data-testid': 'webhook-redeliver', 'aria-label': t('redeliver_label', { id: f.id, name: f.webhook }),
            onclick: (ev) => hookAction(ev.currentTarget, `/api/webhooks/deliveries/${encodeURIComponent(f.id)}/redeliver`, 'redelivered', { id: f.id }),
          }, t('redeliver'))));
      });
      return [
        h('h3', null, t('failures_title')),
        table('data failures', { text: t('failures_title') },
          ['col_time', 'col_webhook', 'col_lead', 'col_kind', 'col_last_status', 'col_error', 'col_attempts', 'col_action']
            .map((k) => ({ text: t(k), num: k === 'col_last_status' || k === 'col_attempts' })),
          rows),
        counts.failed > failures.length ? h('p', { class: 'hint' }, t('failures_more', { n: fmtNum(failures.length), total: fmtNum(counts.failed) })) : null,
      ].filter(Boolean);
    });

    const notice = $('#delivery-notice');
    notice.textContent = hk.notice ? t(hk.notice.key, hk.notice.vars) : '';
    notice.className = hk.notice && !hk.notice.ok ? 'field-error' : 'hint';
  }

  // Resume / Re-deliver: POST, say what happened, then refresh the panel (these change the
  // store, not the engine, so no live update follows by itself).
  async function hookAction(button, path, doneKey, vars) {
    button.disabled = true;
    let notice;
    try {
      await api(path, 'json', 'POST');
      notice = { ok: true, key: doneKey, vars };
    } catch (e) {
      if (e instanceof AuthError) { onUnauthorized(); return; }
      notice = { ok: false, key: 'action_failed', vars: { msg: e.message } };
      button.disabled = false;
    }
    state.hooks = { ...state.hooks, notice };
    renderDelivery();
    live.hooksAt = Date.now();
    await loadHooks();
    renderDelivery();
  }

  function loadingOr(container, s) {
    if (s) return false;
    if (!container.childElementCount) container.replaceChildren(h('p', { class: 'muted' }, t('loading')));
    return true;
  }

  function renderFunnel() {
    const body = $('#funnel-body');
    const s = state.summary;
    body.setAttribute('aria-labelledby', 'split-tab-' + state.split);
    if (loadingOr(body, s)) return;
    const f = s.funnel || {};
    const stages = f.stages || [];
    const current = f.current || {}, reached = f.reached || {};
    const conv = new Map((f.conversion || []).map((c) => [c.from, c]));
    const data = [state.split, f];
    update(body, 'funnel', data, () => {
      if (state.split !== 'all') {
        const list = (state.split === 'source' ? f.by_source : f.by_journey) || [];
        const which = state.split === 'source' ? 'source' : 'journey';
        // Funnel stages first, then any other stage the rows carry (e.g. disqualified).
        const cols = stages.slice();
        for (const row of list) for (const k of Object.keys(row.reached || {})) if (!cols.includes(k)) cols.push(k);
        const rows = list.map((row) => h('tr', { 'data-testid': `split-row-${which}`, 'data-key': row.key },
          h('th', { scope: 'row', class: row.key === '' ? 'muted' : null }, keyLabel(row.key)),
          cols.map((st) => num((row.reached || {})[st] ?? 0, `split-${which}-${slug(row.key)}-${st}`, stages.includes(st) ? null : 'outside-col'))));
        return table('data split', { text: t('split_caption', { by: t('by_' + which) }), visible: true },
          [{ text: t(which === 'source' ? 'col_source' : 'col_journey') }, ...cols.map((st) => ({ text: stageLabel(st), num: true, cls: stages.includes(st) ? '' : 'outside-col' }))],
          rows.length ? rows : emptyRow(cols.length + 1));
      }
      const max = Math.max(1, ...stages.map((st) => Math.max(current[st] || 0, reached[st] || 0)));
      const rows = stages.map((st) => {
        const c = conv.get(st);
        const cur = current[st] ?? 0, rea = reached[st] ?? 0;
        return h('tr', { 'data-stage': st },
          h('th', { scope: 'row' }, h('span', { class: 'stage-name', title: st }, stageLabel(st))),
          h('td', { class: 'bars', 'aria-hidden': 'true' },
            h('div', { class: 'bar reached', style: { width: `${(rea / max) * 100}%` } }),
            h('div', { class: 'bar current', style: { width: `${(cur / max) * 100}%` } })),
          countLink(cur, `funnel-current-${st}`, 'stage', st, stageLabel(st), 'strong'),
          num(rea, `funnel-reached-${st}`),
          c ? h('td', { class: 'num conv', 'data-testid': `funnel-conversion-${st}`, 'data-value': c.rate == null ? '' : String(c.rate) },
            h('span', { 'aria-hidden': 'true', class: 'arrow' }, '↘ '), fmtPct(c.rate))
            : h('td', { class: 'num muted' }, ''));
      });
      // Stages outside the funnel (e.g. disqualified): their own rows, without bar or conversion.
      const others = [...new Set([...Object.keys(current), ...Object.keys(reached)])].filter((k) => !stages.includes(k));
      const outside = others.length ? h('tbody', { class: 'outside' },
        h('tr', { class: 'group' }, h('th', { scope: 'colgroup', colspan: 5 }, t('outside_funnel'))),
        others.map((st) => h('tr', { 'data-stage': st },
          h('th', { scope: 'row' }, h('span', { class: 'stage-name', title: st }, stageLabel(st))),
          h('td', { class: 'bars', 'aria-hidden': 'true' }),
          countLink(current[st] ?? 0, `funnel-current-${st}`, 'stage', st, stageLabel(st), 'strong'),
          num(reached[st] ?? 0, `funnel-reached-${st}`),
          h('td', { class: 'num muted' }, '')))) : null;
      const tbl = table('data funnel', null, [
        { text: t('col_stage') }, { text: h('span', { class: 'sr-only' }, t('col_bars')), cls: 'bars-head' }, { text: headWithScope('col_current', 'now'), num: true },
        { text: headWithScope('col_reached', 'period'), num: true }, { text: headWithScope('col_conversion', 'period'), num: true }], rows);
      if (outside) { $('table', tbl).append(outside); labelRows(tbl); }
      return [
        tbl,
        h('ul', { class: 'legend' },
          h('li', null, h('span', { class: 'swatch reached', 'aria-hidden': 'true' }), t('legend_reached')),
          h('li', null, h('span', { class: 'swatch current', 'aria-hidden': 'true' }), t('legend_current'))),
      ];
    });
  }

  function renderJourneys() {
    const body = $('#journeys-body');
    const s = state.summary;
    if (loadingOr(body, s)) return;
    const list = s.journeys || [];
    // The diagram opens on the busiest journey (most leads in it now), until one is picked.
    if (!list.some((j) => j.name === state.journey)) {
      const busiest = list.reduce((best, j) => (!best || (j.active || 0) > (best.active || 0) ? j : best), null);
      state.journey = busiest ? busiest.name : null;
    }
    update(body, 'journeys', [list, state.journey], () => {
      const rows = list.map((j) => {
        const sel = j.name === state.journey;
        return h('tr', { class: sel ? 'selected' : null, 'aria-current': sel ? 'true' : null, 'data-journey': j.name },
          h('th', { scope: 'row' }, h('button', {
            type: 'button', class: 'link', 'aria-pressed': String(sel),
            'aria-label': t('show_diagram', { name: j.name }), 'data-testid': `journey-select-${slug(j.name)}`,
            onclick: () => { state.journey = j.name; renderJourneys(); loadDiagram(); },
          }, j.name)),
          countLink(j.active, `journey-active-${slug(j.name)}`, 'journey', j.name, j.name),
          ['entered', 'completed', 'exited', 'goal'].map((k) => num(j[k], `journey-${k}-${slug(j.name)}`)));
      });
      return table('data', null, [{ text: t('col_name') }, { text: headWithScope('col_active', 'now'), num: true },
        ...['entered', 'completed', 'exited', 'goal'].map((k) => ({ text: k === 'entered' ? headWithScope('col_entered', 'period') : t('col_' + k), num: true }))],
        rows.length ? rows : emptyRow(6, 'no_journeys'));
    });
    const title = $('#diagram-title');
    title.textContent = state.journey ? t('diagram_title', { name: state.journey }) : '';
    $('.diagram-wrap').hidden = !state.journey;
    const svg = $('#journey-diagram svg');
    if (svg) svg.setAttribute('aria-label', t('diagram_alt', { name: state.diagram.name || '' }));
  }

  // Fetches the selected journey's SVG with the bearer token and inlines it (sanitized).
  async function loadDiagram() {
    const name = state.journey;
    const box = $('#journey-diagram');
    if (!name || !box) return;
    const key = `${name}@${live.diagramRound}@${state.lang}`;
    if (state.diagram.key === key && state.diagram.status !== 'error') return;
    const switching = state.diagram.name !== name;
    state.diagram = { key, name, status: 'loading' };
    if (switching) box.replaceChildren(h('p', { class: 'muted' }, t('diagram_loading')));
    try {
      const text = await api('/api/dashboard/journeys/' + encodeURIComponent(name) + '.svg?lang=' + encodeURIComponent(state.lang), 'text');
      if (state.diagram.key !== key) return; // a newer request won
      const svg = sanitizeSvg(text);
      svg.setAttribute('aria-label', t('diagram_alt', { name }));
      box.replaceChildren(svg);
      state.diagram.status = 'ok';
    } catch (e) {
      if (e instanceof AuthError) { onUnauthorized(); return; }
      if (state.diagram.key !== key) return;
      state.diagram.status = 'error';
      box.replaceChildren(h('p', { class: 'field-error' }, t('diagram_error')));
    }
  }

  function sanitizeSvg(text) {
    const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
    const svg = doc.documentElement;
    if (!svg || svg.localName !== 'svg' || doc.getElementsByTagName('parsererror').length) throw new Error('not an SVG');
    for (const bad of svg.querySelectorAll('script, foreignObject, iframe')) bad.remove();
    for (const el of [svg, ...svg.querySelectorAll('*')]) {
      for (const a of Array.from(el.attributes)) {
        if (/^on/i.test(a.name) || (/href$/i.test(a.name) && /^\s*javascript:/i.test(a.value))) el.removeAttribute(a.name);
      }
    }
    const w = parseFloat(svg.getAttribute('width')), hh = parseFloat(svg.getAttribute('height'));
    if (!svg.getAttribute('viewBox') && w > 0 && hh > 0) svg.setAttribute('viewBox', `0 0 ${w} ${hh}`);
    svg.removeAttribute('width');
    svg.removeAttribute('height');
    svg.setAttribute('role', 'img');
    svg.setAttribute('preserveAspectRatio', 'xMidYMin meet');
    const node = document.importNode(svg, true);
    if (w > 0) node.dataset.naturalWidth = String(w);
    applyDiagramSize(node);
    return node;
  }

  // Scaled to the card width by default; "actual size" shows it at its own width (scrolls,
  // which pans). On a phone the scaled text would be unreadable: there it opens at actual
  // size, and − / + zoom from there.
  const PHONE = window.matchMedia ? window.matchMedia('(max-width: 640px)') : { matches: false };
  function applyDiagramSize(svg) {
    const w = Number(svg.dataset.naturalWidth) || 0;
    const natural = (state.diagramNatural || PHONE.matches || state.diagramZoom !== 1) && w > 0;
    svg.style.width = natural ? `${Math.round(w * state.diagramZoom)}px` : '';
    svg.style.maxWidth = natural ? 'none' : '';
  }
  function zoomDiagram(by) {
    state.diagramZoom = Math.min(3, Math.max(0.25, Math.round(state.diagramZoom * by * 100) / 100));
    const svg = $('#journey-diagram svg');
    if (svg) applyDiagramSize(svg);
  }

  function renderEmail() {
    const body = $('#email-body');
    const s = state.summary;
    if (loadingOr(body, s)) return;
    const list = s.email || [];
    update(body, 'email', list, () => {
      // Opened / clicked are unique (each lead and template once, of the emails sent in the
      // period), so the rates stay within 100 %; opens / clicks are the raw event counts.
      const keys = ['sent', 'opened', 'opens', 'clicked', 'clicks', 'bounced', 'suppressed'];
      const label = (k) => t(k === 'opens' ? 'col_opens_raw' : k === 'clicks' ? 'col_clicks_raw' : 'col_' + k);
      const rows = list.map((e) => h('tr', { 'data-template': e.template },
        h('th', { scope: 'row' }, e.template),
        keys.map((k) => num(e[k], `email-${k}-${slug(e.template)}`)),
        pctCell(e.open_rate ?? ratio(e.opened, e.sent), `email-open-rate-${slug(e.template)}`),
        pctCell(e.click_rate ?? ratio(e.clicked, e.sent), `email-click-rate-${slug(e.template)}`)));
      const sumOf = (k) => list.reduce((a, e) => a + (e[k] || 0), 0);
      const tot = Object.fromEntries([...keys, 'unattributed_opens', 'unattributed_clicks'].map((k) => [k, sumOf(k)]));
      const foot = list.length > 1 ? h('tr', null, h('th', { scope: 'row' }, t('total')),
        keys.map((k) => num(tot[k], `email-${k}-total`)),
        pctCell(ratio(tot.opened, tot.sent), 'email-open-rate-total'),
        pctCell(ratio(tot.clicked, tot.sent), 'email-click-rate-total')) : null;
      return [
        table('data', null, [{ text: t('col_template') }, ...keys.map((k) => ({ text: label(k), num: true })),
          { text: t('col_open_rate'), num: true }, { text: t('col_click_rate'), num: true }],
        rows.length ? rows : emptyRow(10), foot),
        tot.unattributed_opens || tot.unattributed_clicks
          ? h('p', { class: 'hint', 'data-testid': 'email-unattributed', 'data-value': String(tot.unattributed_opens + tot.unattributed_clicks) },
            t('unattributed', { opens: fmtNum(tot.unattributed_opens), clicks: fmtNum(tot.unattributed_clicks) }))
          : null,
      ];
    });
  }

  function renderHandoff() {
    const body = $('#handoff-body');
    const s = state.summary;
    if (loadingOr(body, s)) return;
    const ho = s.handoff || {};
    update(body, 'handoff', ho, () => {
      const reps = ho.reps || [];
      const keys = ['open', 'accepted', 'rejected', 'overdue'];
      const repRows = reps.map((r) => h('tr', null,
        h('td', null, r.team),
        h('th', { scope: 'row' }, r.assignee || '—'),
        keys.map((k) => {
          const testid = `handoff-${k}-${slug(r.team)}-${slug(r.assignee || '')}`;
          const cls = 'num' + (k === 'overdue' && r[k] > 0 ? ' alert' : '');
          if ((k !== 'open' && k !== 'overdue') || !r[k]) return num(r[k], testid, k === 'overdue' && r[k] > 0 ? 'alert' : null);
          return h('td', { class: cls, 'data-testid': testid, 'data-value': String(r[k]) },
            h('button', { type: 'button', class: 'link', title: t('show_tasks', { rep: r.assignee || r.team }), onclick: () => showRepTasks(r.team, r.assignee || '', k === 'overdue') },
              fmtNum(r[k]), h('span', { class: 'sr-only' }, ' — ' + t('show_tasks', { rep: r.assignee || r.team }))));
        })));
      const med = Object.entries(ho.median_accept_seconds || {});
      const medRows = med.map(([team, sec]) => h('tr', null, h('th', { scope: 'row' }, team),
        h('td', { class: 'num', 'data-testid': `handoff-median-${slug(team)}`, 'data-value': sec == null ? '' : String(sec) }, fmtDuration(sec))));
      const reasons = ho.reasons || [];
      const reasonRows = reasons.map((r, i) => h('tr', null,
        h('th', { scope: 'row', title: r.reason }, r.label ? r.label : code(r.reason)),
        h('td', { class: r.source ? null : 'muted' }, keyLabel(r.source)),
        h('td', { class: r.journey ? null : 'muted' }, keyLabel(r.journey)),
        num(r.count, `handoff-reason-${i}`)));
      return [
        table('data', { text: t('reps_caption') }, [{ text: t('col_team') }, { text: t('col_assignee') },
          ...keys.map((k) => ({ text: headWithScope('col_' + k, k === 'open' || k === 'overdue' ? 'now' : 'period'), num: true }))],
          repRows.length ? repRows : emptyRow(6, 'none')),
        h('h3', null, t('median_title')),
        table('data compact', { text: t('median_title') }, [{ text: t('col_team') }, { text: t('col_median'), num: true }],
          medRows.length ? medRows : emptyRow(2, 'none')),
        h('h3', { id: 'reasons-title' }, t('reasons_title')),
        h('p', { class: 'hint' }, t('reasons_hint')),
        table('data', { text: t('reasons_title') }, [{ text: t('col_reason') }, { text: t('col_source') }, { text: t('col_journey') }, { text: t('col_count'), num: true }],
          reasonRows.length ? reasonRows : emptyRow(4, 'none')),
      ];
    });
  }

  function renderRecent() {
    const body = $('#recent-body');
    const s = state.summary;
    if (loadingOr(body, s)) return;
    const list = (s.recent || []).filter((r) => state.feedScores || r.kind !== 'score_changed').slice(0, 20);
    const toggle = $('#feed-scores');
    if (toggle) toggle.checked = state.feedScores;
    update(body, 'recent', list, () => {
      if (!list.length) return h('p', { class: 'muted' }, t('empty'));
      // Lines that were not on the screen before get a short highlight.
      const keyOf = (r) => JSON.stringify([r.at, r.lead, r.kind, r.text]);
      const seen = state.recentSeen;
      state.recentSeen = new Set(list.map(keyOf));
      return h('ol', { class: 'feed', 'data-testid': 'recent-list' }, list.map((r) => h('li', {
        class: 'feed-item kind-' + String(r.kind).replace(/[^a-z_]/g, '') + (seen && !seen.has(keyOf(r)) ? ' fresh' : ''),
        'data-testid': 'recent-row', 'data-lead': r.lead ?? '', 'data-kind': r.kind,
      },
      h('span', { class: 'feed-time' }, feedTime(r.at)),
      h('span', { class: 'feed-main' },
        r.lead != null ? h('a', { href: leadHref(r.lead), class: 'lead-link', 'data-testid': 'recent-lead-link', title: r.lead }, r.name || r.lead) : h('span', { class: 'muted' }, '—'),
        ' ', h('span', { class: 'badge', title: r.kind }, kindLabel(r.kind)),
        r.text ? h('span', { class: 'feed-text' }, r.text) : null))));
    });
  }

  // ---------------------------------------------------------------- render: labels shared by the cards

  // A stage's name in the chosen language (the program's own name when the strings have none).
  function stageLabel(st) {
    const k = 'stage_' + st;
    const dict = I18N[state.lang] || I18N.vi;
    return dict[k] || I18N.vi[k] || st;
  }
  // "Now" (a figure at this moment) or "in period" (a figure of the selected days).
  function scopeBadge(kind) {
    const p = state.summary && state.summary.period;
    const title = kind === 'now' ? t('now_hint') : t('period_hint', { from: (p && p.from) || '', to: (p && p.to) || '' });
    return h('span', { class: 'scope scope-' + kind, title }, t(kind + '_badge'));
  }
  function headWithScope(textKey, kind) { return h('span', null, t(textKey), ' ', scopeBadge(kind)); }

  // ---------------------------------------------------------------- render: trend

  function trendMetrics(s) {
    const stages = ((s.funnel && s.funnel.stages) || []).slice(1);
    const pick = (c, k) => (c == null ? null : c[k]);
    return [
      ...stages.map((st) => ({
        key: 'stage:' + st, label: t('trend_stage', { stage: stageLabel(st) }),
        get: (d) => ((d && d.reached) || {})[st] || 0, change: (c) => pick(c && c.reached, st),
      })),
      ...['accepted', 'rejected', 'sent'].map((k) => ({
        key: k, label: t('trend_' + k), get: (d) => (d && d[k]) || 0, change: (c) => pick(c, k),
      })),
    ];
  }

  function fmtChange(c) {
    if (c == null) return t('trend_no_prev');
    const sign = c > 0 ? '+' : '';
    return `${sign}${new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(c)} % ${t('trend_change')}`;
  }

  function renderTrend() {
    const body = $('#trend-body');
    const s = state.summary;
    if (loadingOr(body, s)) return;
    const tr = s.trend;
    if (!tr) { body.replaceChildren(h('p', { class: 'muted' }, t('empty'))); return; }
    const metrics = trendMetrics(s);
    if (!metrics.some((m) => m.key === state.trendMetric)) state.trendMetric = metrics.length ? metrics[0].key : null;
    const metric = metrics.find((m) => m.key === state.trendMetric);
    update(body, 'trend', [tr, state.trendMetric], () => {
      const prev = tr.previous;
      const tiles = h('div', { class: 'tiles', role: 'group', 'aria-label': t('trend_metric') }, metrics.map((m) => {
        const now = m.get(tr.total), before = prev ? m.get(prev) : null, c = m.change(tr.change_percent);
        const dir = c == null ? 'flat' : c > 0 ? 'up' : c < 0 ? 'down' : 'flat';
        return h('button', {
          type: 'button', class: 'tile', 'aria-pressed': String(m.key === state.trendMetric),
          'data-testid': 'trend-tile-' + slug(m.key), 'data-value': String(now),
          onclick: () => { state.trendMetric = m.key; renderTrend(); },
        },
        h('span', { class: 'tile-label' }, m.label),
        h('span', { class: 'tile-value', 'data-testid': 'trend-total-' + slug(m.key) }, fmtNum(now)),
        h('span', { class: 'tile-change change-' + dir, 'data-testid': 'trend-change-' + slug(m.key), 'data-value': c == null ? '' : String(c) }, fmtChange(c)),
        before == null ? null : h('span', { class: 'tile-prev' }, `${t('trend_prev')}: ${fmtNum(before)}`));
      }));
      const days = tr.days || [];
      const prevDays = (prev && prev.days) || [];
      const chart = h('div', { class: 'chart', role: 'img', 'aria-label': metric ? t('trend_table', { metric: metric.label }) : '', 'data-testid': 'trend-chart' });
      const legend = h('ul', { class: 'legend' },
        h('li', null, h('span', { class: 'swatch line-this', 'aria-hidden': 'true' }), t('trend_this')),
        prev ? h('li', null, h('span', { class: 'swatch line-prev', 'aria-hidden': 'true' }), `${t('trend_prev')} (${prev.from} – ${prev.to})`) : null);
      // The same figures as a table, for screen readers (the chart is a picture).
      const rows = metric ? days.map((d, i) => h('tr', null, h('th', { scope: 'row' }, d.day),
        num(metric.get(d), null), num(prevDays[i] ? metric.get(prevDays[i]) : null, null))) : [];
      const data = h('div', { class: 'sr-only' }, table('data', { text: metric ? t('trend_table', { metric: metric.label }) : '' },
        [{ text: t('col_day') }, { text: t('trend_this'), num: true }, { text: t('trend_prev'), num: true }], rows));
      requestAnimationFrame(() => drawChart(chart, days, prevDays, metric));
      return [h('p', { class: 'hint' }, prev ? t('trend_hint', { from: prev.from, to: prev.to }) : ''), tiles, chart, legend, data];
    });
  }

  // uPlot (vendored, /vendor/uplot.js), fetched once, when the first chart is drawn (not
  // before the funnel's first paint).
  let uplotLoading = null;
  function loadUplot() {
    if (!uplotLoading) {
      uplotLoading = new Promise((ok, fail) => {
        const el = document.createElement('script');
        el.src = '/vendor/uplot.js';
        el.onload = ok;
        el.onerror = () => { uplotLoading = null; fail(new Error('uPlot did not load')); };
        document.head.append(el);
      });
    }
    return uplotLoading;
  }

  // uPlot: this period solid, the previous one dashed, day by day.
  let chartPlot = null;
  let chartResize = null;
  function drawChart(box, days, prevDays, metric) {
    if (chartPlot) { chartPlot.destroy(); chartPlot = null; }
    if (chartResize) { chartResize.disconnect(); chartResize = null; }
    if (!metric || !box.isConnected) return;
    if (!window.uPlot) { loadUplot().then(() => { if (box.isConnected) drawChart(box, days, prevDays, metric); }, () => {}); return; }
    const css = getComputedStyle(document.documentElement);
    const color = (v) => css.getPropertyValue(v).trim();
    const xs = days.map((d) => Date.parse(d.day + 'T00:00:00Z') / 1000);
    const width = () => Math.max(260, box.clientWidth || 600);
    const axis = { stroke: color('--muted'), grid: { stroke: color('--border'), width: 1 }, ticks: { stroke: color('--border') } };
    chartPlot = new window.uPlot({
      width: width(), height: 220,
      tzDate: (ts) => window.uPlot.tzDate(new Date(ts * 1e3), 'UTC'),
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (u, lo, hi) => [0, Math.max(1, hi)] } },
      axes: [axis, { ...axis, size: 48 }],
      series: [
        {},
        { label: t('trend_this'), stroke: color('--accent'), width: 2, fill: color('--accent-soft') },
        { label: t('trend_prev'), stroke: color('--muted'), width: 1.5, dash: [6, 4] },
      ],
    }, [xs, days.map(metric.get), days.map((_, i) => (prevDays[i] ? metric.get(prevDays[i]) : null))], box);
    if (window.ResizeObserver) {
      chartResize = new ResizeObserver(() => { if (chartPlot) chartPlot.setSize({ width: width(), height: 220 }); });
      chartResize.observe(box);
    }
  }

  // ---------------------------------------------------------------- render: SLA list

  // The tasks list of the SLA card (GET /api/tasks, scope sales): waiting to be accepted, or
  // every late task; by team and rep; a page at a time.
  async function loadSla() {
    const f = state.sla;
    if (f.status === 'forbidden') return;
    const q = new URLSearchParams();
    if (f.late) q.set('late', 'true'); else q.set('status', 'open');
    if (f.team) q.set('team', f.team);
    if (f.assignee) q.set('assignee', f.assignee);
    q.set('limit', String(SLA_PAGE + 1));
    q.set('offset', String(f.offset));
    try {
      const r = await api('/api/tasks?' + q.toString());
      const list = (r && r.tasks) || [];
      Object.assign(state.sla, { status: 'ok', tasks: list.slice(0, SLA_PAGE), more: list.length > SLA_PAGE, error: null });
    } catch (e) {
      if (e instanceof AuthError) return;
      if (e instanceof HttpError && e.status === 403) state.sla.status = 'forbidden';
      else Object.assign(state.sla, { status: 'error', error: e.message });
    }
  }
  function setSla(change) {
    Object.assign(state.sla, { offset: 0 }, change);
    loadSla().then(renderSla);
  }
  // From a rep's count in the handoff card: that rep's tasks (late ones for "overdue").
  function showRepTasks(team, assignee, late) {
    setSla({ team, assignee, late });
    const box = $('#sla');
    if (box) { box.scrollIntoView({ block: 'start' }); const head = $('#sla-title'); if (head) { head.tabIndex = -1; head.focus({ preventScroll: true }); } }
  }

  function renderSla() {
    const body = $('#sla-body');
    const filters = $('#sla-filters');
    if (!body) return;
    const f = state.sla;
    const reps = (state.summary && state.summary.handoff && state.summary.handoff.reps) || [];
    const teams = [...new Set(reps.map((r) => r.team).concat(f.team ? [f.team] : []))].sort();
    const people = [...new Set(reps.filter((r) => !f.team || r.team === f.team).map((r) => r.assignee).concat(f.assignee ? [f.assignee] : []))].sort();
    update(filters, 'sla-filters', [teams, people, f.team, f.assignee, f.late], () => {
      const select = (id, label, value, options, on) => h('label', { for: id }, t(label), ' ',
        h('select', { id, 'data-testid': id, onchange: (e) => on(e.target.value) },
          h('option', { value: '' }, t('sla_all')),
          options.map((o) => h('option', { value: o, selected: o === value }, o))));
      return [
        select('sla-team', 'sla_team', f.team, teams, (v) => setSla({ team: v, assignee: '' })),
        select('sla-rep', 'sla_rep', f.assignee, people, (v) => setSla({ assignee: v })),
        h('label', { class: 'check' }, h('input', { type: 'checkbox', id: 'sla-late', 'data-testid': 'sla-late', checked: f.late, onchange: (e) => setSla({ late: e.target.checked }) }), ' ', t('sla_late_only')),
      ];
    });
    if (f.status === 'idle') { loadingOr(body, null); return; }
    update(body, 'sla', [f.status, f.tasks, f.offset, f.more, f.error], () => {
      if (f.status === 'forbidden') return h('p', { class: 'muted' }, t('sla_forbidden'));
      if (f.status === 'error') return h('p', { class: 'field-error' }, t('sla_error', { msg: f.error }));
      const rows = f.tasks.map((k) => h('tr', { 'data-testid': 'sla-row', 'data-task': k.id },
        h('th', { scope: 'row' }, h('a', { href: leadHref(k.lead), title: k.lead, 'data-testid': 'sla-lead' }, k.lead_name || k.lead),
          k.title ? h('span', { class: 'sub' }, k.title) : null),
        h('td', null, k.team),
        h('td', null, k.assignee),
        h('td', null, t('task_' + k.status)),
        h('td', { 'data-testid': 'sla-due', 'data-value': k.due_at == null ? '' : String(k.due_at) }, k.due_at == null ? t('no_deadline') : timeEl(k.due_at)),
        h('td', { class: 'num' + (k.overdue_seconds ? ' alert' : ''), 'data-testid': 'sla-overdue', 'data-value': k.overdue_seconds == null ? '' : String(k.overdue_seconds) },
          k.overdue_seconds ? fmtDuration(k.overdue_seconds) : t('not_late')),
        h('td', { 'data-testid': 'sla-escalated', 'data-value': String(k.escalations || 0) },
          k.escalations ? t('escalated_to', { n: k.escalations, to: k.escalated_to || '—', at: fmtTime(k.escalated_at) }) : '—')));
      const pager = h('nav', { class: 'pager', 'aria-label': t('pager_label') },
        h('button', { type: 'button', class: 'ghost small', disabled: f.offset === 0, onclick: () => setSla({ offset: Math.max(0, f.offset - SLA_PAGE) }) }, t('pager_prev')),
        h('span', { class: 'muted' }, f.tasks.length ? t('pager_range', { from: f.offset + 1, to: f.offset + f.tasks.length }) : ''),
        h('button', { type: 'button', class: 'ghost small', disabled: !f.more, onclick: () => setSla({ offset: f.offset + SLA_PAGE }) }, t('pager_next')));
      return [
        table('data tasks', { text: t('sla_title') }, [{ text: t('col_lead') }, { text: t('col_team') }, { text: t('col_assignee') },
          { text: t('col_task_status') }, { text: t('col_due') }, { text: t('col_late_by'), num: true }, { text: t('col_escalated') }],
        rows.length ? rows : emptyRow(7, 'none')),
        pager,
      ];
    });
  }

  // ---------------------------------------------------------------- render: the leads behind a count

  function leadsTitle(r) {
    return r.stage ? t('leads_title_stage', { stage: stageLabel(r.stage) }) : t('leads_title_journey', { journey: r.journey || '' });
  }
  async function loadLeads(r) {
    const key = JSON.stringify([r.stage, r.journey, r.page]);
    const q = new URLSearchParams();
    if (r.stage) q.set('stage', r.stage);
    if (r.journey) q.set('journey', r.journey);
    q.set('limit', String(LEADS_PAGE));
    q.set('offset', String(r.page * LEADS_PAGE));
    try {
      state.leads = { key, data: await api('/api/leads?' + q.toString()) };
    } catch (e) {
      if (e instanceof AuthError) return;
      state.leads = { key, error: e.message };
    }
  }
  function renderLeads() {
    const root = $('#view-leads');
    const r = state.route;
    const key = JSON.stringify([r.stage, r.journey, r.page]);
    const got = state.leads && state.leads.key === key ? state.leads : null;
    update(root, 'leads', [key, got], () => {
      const back = h('a', { href: '#/', class: 'back', 'data-testid': 'back' }, t('back'));
      const head = h('header', { class: 'lead-head' }, back, h('h2', { id: 'leads-title' }, leadsTitle(r)));
      if (!got) return h('section', { class: 'card' }, head, h('p', { class: 'muted' }, t('loading')));
      if (got.error) return h('section', { class: 'card' }, head, h('p', { class: 'field-error' }, got.error));
      const d = got.data;
      const rows = (d.leads || []).map((l) => h('tr', { 'data-testid': 'leads-row', 'data-lead': l.id },
        h('th', { scope: 'row' }, h('a', { href: leadHref(l.id), title: l.id }, l.name || l.id)),
        h('td', null, l.company || '—'),
        h('td', { title: l.stage }, stageLabel(l.stage)),
        h('td', null, l.owner || '—')));
      const kind = r.stage ? 'stage' : 'journey';
      const name = r.stage || r.journey;
      const last = Math.max(0, Math.ceil(d.total / LEADS_PAGE) - 1);
      const pager = h('nav', { class: 'pager', 'aria-label': t('pager_label') },
        r.page > 0 ? h('a', { href: leadsHref(kind, name, r.page - 1), class: 'button ghost small' }, t('pager_prev')) : null,
        h('span', { class: 'muted' }, d.leads.length ? t('pager_range', { from: d.offset + 1, to: d.offset + d.leads.length }) : ''),
        r.page < last ? h('a', { href: leadsHref(kind, name, r.page + 1), class: 'button ghost small' }, t('pager_next')) : null);
      return h('section', { class: 'card', 'aria-labelledby': 'leads-title' }, head,
        h('p', { 'data-testid': 'leads-total', 'data-value': String(d.total) }, t('leads_total', { n: fmtNum(d.total) }), ' ', scopeBadge('now')),
        table('data', { text: leadsTitle(r) }, [{ text: t('col_lead') }, { text: t('col_company') }, { text: t('col_stage') }, { text: t('col_owner') }],
          rows.length ? rows : emptyRow(4, 'none')),
        pager);
    });
  }

  // ---------------------------------------------------------------- render: lead page

  // The lead's timeline, newest first. docs/api.md says the API sends it oldest first, the
  // dashboard brief says newest first: look at the first two different instants to tell, and
  // when every line has the same second, take the documented order (oldest first).
  function newestFirst(lines) {
    const a = (lines || []).slice();
    const first = a.length ? String(a[0].at) : '';
    const other = a.find((l) => String(l.at) !== first);
    if (!other || first < String(other.at)) a.reverse();
    return a;
  }

  function renderLead() {
    const root = $('#view-lead');
    const id = state.route.id;
    const back = h('a', { href: '#/', class: 'back', 'data-i18n': 'back', 'data-testid': 'back' }, t('back'));
    if (state.leadMissing && state.leadId === id) {
      update(root, 'lead', ['missing', id], () => [back, h('h1', null, t('lead_title', { id })), h('p', { class: 'field-error', role: 'alert' }, t('lead_not_found', { id }))]);
      return;
    }
    const L = state.lead && state.leadId === id ? state.lead : null;
    if (!L) {
      update(root, 'lead', ['loading', id], () => [back, h('h1', null, t('lead_title', { id })), h('p', { class: 'muted' }, t('loading'))]);
      return;
    }
    update(root, 'lead', L, () => {
      const fields = L.fields || {};
      const timeline = newestFirst(L.timeline);
      const title = fields.name ? `${fields.name}` : t('lead_title', { id: L.id });
      const sub = [fields.title, fields.company, fields.email].filter((x) => x);

      const head = h('div', { class: 'lead-head' },
        back,
        h('h1', { 'data-testid': 'lead-title' }, title),
        h('p', { class: 'lead-sub' }, h('code', { 'data-testid': 'lead-id' }, L.id), sub.length ? ' · ' + sub.join(' · ') : ''),
        h('p', { class: 'stage-line' },
          h('span', { class: 'muted' }, t('lead_stage') + ': '),
          h('span', { class: 'stage-badge', 'data-testid': 'lead-stage', 'data-value': L.stage || '', title: L.stage || '' }, L.stage ? stageLabel(L.stage) : '—'),
          h('span', { class: 'muted' }, ' · ' + t('stage_cause') + ': '),
          h('span', { 'data-testid': 'lead-stage-cause', title: L.stage_cause || '' }, fmtCause(L.stage_cause))));

      const scores = card('lead-scores', 'scores_title',
        h('div', { class: 'card-body scores' }, (L.scores || []).length ? (L.scores || []).map(renderScore) : h('p', { class: 'muted' }, t('no_scores'))));

      const fieldRows = Object.keys(fields).sort().map((k) => h('tr', null, h('th', { scope: 'row' }, code(k)), h('td', { 'data-testid': `field-${slug(k)}` }, fmtValue(fields[k]))));
      const fieldsCard = card('lead-fields', 'fields_title', h('div', { class: 'card-body' },
        table('data kv', null, [{ text: t('col_field') }, { text: t('col_value') }], fieldRows.length ? fieldRows : emptyRow(2, 'none'))));

      const hist = timeline.filter((l) => l.kind === 'stage_changed');
      const histCard = card('lead-history', 'history_title', h('div', { class: 'card-body' },
        h('p', { class: 'hint' }, t('history_hint')),
        hist.length ? h('ol', { class: 'history' }, hist.map((l) => h('li', { 'data-testid': 'stage-history-row' },
          timeEl(l.at), ' ', h('span', { class: 'stage-badge muted-badge' }, l.from ?? '—'), ' → ', h('span', { class: 'stage-badge' }, l.to ?? '—'))))
          : h('p', { class: 'muted' }, t('no_history'))));

      const js = L.journeys || [];
      const jRows = js.map((j) => h('tr', { 'data-testid': 'lead-journey-row' },
        h('th', { scope: 'row' }, j.journey),
        h('td', null, h('code', { class: 'step' }, j.step || '—')),
        h('td', { title: j.state || '' }, fmtJourneyState(j.state))));
      const jCard = card('lead-journeys', 'lead_journeys_title', h('div', { class: 'card-body' },
        table('data', null, [{ text: t('col_journey') }, { text: t('col_step') }, { text: t('col_state') }], jRows.length ? jRows : emptyRow(3, 'no_lead_journeys'))));

      const tasks = L.tasks || [];
      const tRows = tasks.map((k) => h('tr', { 'data-testid': 'task-row' },
        h('th', { scope: 'row' }, code(k.id)),
        h('td', null, k.handoff), h('td', null, k.team), h('td', null, k.assignee || '—'),
        h('td', null, h('span', { class: 'status status-' + k.status }, fmtStatus(k.status))),
        h('td', null, k.reason ? code(k.reason) : '—'),
        h('td', null, timeEl(k.created_at)), h('td', null, timeEl(k.accepted_at))));
      const tCard = card('lead-tasks', 'tasks_title', h('div', { class: 'card-body' },
        table('data', null, ['col_task', 'col_handoff', 'col_team', 'col_assignee', 'col_status', 'col_reason', 'col_created', 'col_accepted_at'].map((k) => ({ text: t(k) })),
          tRows.length ? tRows : emptyRow(8, 'no_tasks'))));

      const tlRows = timeline.map((l) => h('tr', { 'data-testid': 'timeline-row', 'data-kind': l.kind },
        h('td', { class: 'nowrap' }, timeEl(l.at)),
        h('td', null, h('span', { class: 'badge', title: l.kind }, kindLabel(l.kind))),
        h('td', { class: 'details' }, lineDetails(l))));
      const tlCard = card('lead-timeline', 'timeline_title', h('div', { class: 'card-body' },
        table('data', null, [{ text: t('col_time') }, { text: t('col_kind') }, { text: t('col_details') }], tlRows.length ? tlRows : emptyRow(3, 'no_timeline'))));

      return [head, h('div', { class: 'grid lead' },
        h('div', { class: 'col col-main' }, scores, jCard, tCard, h('div', { id: 'lead-email-slot' })),
        h('div', { class: 'col col-side' }, fieldsCard, histCard),
        tlCard)];
    });
    renderLastEmail();
  }

  function fmtMailStatus(s) { const k = 'mail_' + s; const v = t(k); return v === k ? (s || '—') : v; }

  // The lead's last email: who, what, when, its outbox status, and the message itself — the
  // HTML part in a sandboxed frame (no allowances: nothing in the mail runs or navigates the
  // dashboard) or the text part.
  function renderLastEmail() {
    const slot = $('#lead-email-slot');
    if (!slot) return;
    const id = state.route.id;
    const le = state.lastEmail && state.lastEmail.id === id ? state.lastEmail : null;
    if (!le || le.status === 'forbidden') {
      slot.replaceChildren();
      return;
    }
    update(slot, 'lead-email', [id, le.status, le.error || null, le.mail || null], () => {
      const m = le.mail;
      if (!m) {
        const msg = le.status === 'error' ? h('p', { class: 'field-error' }, t('server_error', { status: '—', msg: le.error }))
          : h('p', { class: 'muted', 'data-testid': 'no-email' }, t('no_email'));
        return card('lead-email', 'last_email_title', h('div', { class: 'card-body' }, msg));
      }
      const frame = h('iframe', {
        sandbox: true, class: 'email-frame', id: 'last-email-html', referrerpolicy: 'no-referrer',
        title: t('email_frame_title', { subject: m.subject || '' }), 'data-testid': 'last-email-html',
      });
      frame.srcdoc = m.html || ''; // a DOM property: the mail's HTML is never parsed into this page
      const text = h('pre', { class: 'email-text', id: 'last-email-text', 'data-testid': 'last-email-text' }, m.text || '');
      const show = (v) => {
        state.emailView = v;
        frame.hidden = v !== 'html';
        text.hidden = v === 'html';
        for (const b of $$('[data-view]', slot)) b.setAttribute('aria-selected', String(b.dataset.view === v));
      };
      const tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': t('email_view') },
        [['html', 'email_view_html', 'last-email-html'], ['text', 'email_view_text', 'last-email-text']].map(([v, k, panel]) => h('button', {
          type: 'button', role: 'tab', 'aria-controls': panel, 'aria-selected': String(state.emailView === v),
          'data-view': v, 'data-testid': 'email-view-' + v, onclick: () => show(v),
        }, t(k))));
      frame.hidden = state.emailView === 'text';
      text.hidden = state.emailView !== 'text';
      const rows = [
        ['email_subject', h('span', { 'data-testid': 'last-email-subject' }, m.subject || '—')],
        ['email_from', h('span', { 'data-testid': 'last-email-from' }, m.from || '—')],
        ['email_to', m.to || '—'],
        ['col_status', h('span', { class: 'status status-' + m.status, 'data-testid': 'last-email-status', 'data-value': m.status }, fmtMailStatus(m.status))],
        ['col_time', timeEl(m.at)],
        ['col_template', code(m.template)],
      ].map(([k, v]) => h('tr', null, h('th', { scope: 'row' }, t(k)), h('td', null, v)));
      const c = card('lead-email', 'last_email_title', h('div', { class: 'card-body' },
        table('data kv', null, [{ text: t('col_field') }, { text: t('col_value') }], rows),
        h('p', { class: 'hint email-hint' }, t('email_untracked')),
        frame, text));
      $('.card-head', c).append(tabs);
      return c;
    });
  }

  function renderScore(sc) {
    const lines = sc.lines || [];
    return h('article', { class: 'score', 'data-testid': 'score', 'data-score': sc.name },
      h('header', { class: 'score-head' },
        h('h3', null, sc.name),
        h('span', { class: 'score-value', 'data-testid': `score-value-${slug(sc.name)}`, 'data-value': String(sc.value) }, fmtNum(sc.value))),
      h('p', { class: 'score-parts' },
        h('span', null, t('attribute_part') + ': ', h('b', { 'data-testid': `score-attr-${slug(sc.name)}` }, fmtNum(sc.attribute_part))),
        h('span', null, t('event_part') + ': ', h('b', { 'data-testid': `score-event-${slug(sc.name)}` }, fmtNum(sc.event_part)))),
      lines.length ? table('data lines', { text: `${sc.name}: ${t('col_condition')}` },
        [{ text: t('col_counted') }, { text: t('col_points'), num: true }, { text: t('col_condition') }],
        lines.map((l) => h('tr', { class: l.counted ? 'counted' : 'not-counted', 'data-testid': 'score-line', 'data-counted': String(!!l.counted) },
          h('td', { class: 'mark' },
            h('span', { 'aria-hidden': 'true' }, l.counted ? '✓' : '✗'),
            h('span', { class: 'sr-only' }, l.counted ? t('counted') : t('not_counted'))),
          h('td', { class: 'num points' + (l.points < 0 ? ' negative' : '') }, fmtPoints(l.points)),
          h('td', null, code(l.if)))))
        : h('p', { class: 'muted' }, t('no_if_lines')));
  }

  // ---------------------------------------------------------------- top-level render

  function render() {
    const authed = !!state.token;
    document.body.classList.toggle('logged-out', !authed);
    $('#login').hidden = authed;
    const name = state.route.name;
    $('#view-overview').hidden = !authed || name !== 'overview';
    $('#view-lead').hidden = !authed || name !== 'lead';
    $('#view-leads').hidden = !authed || name !== 'leads';
    if (!authed) return;
    if (name === 'overview') {
      renderOverview();
      document.title = 'Tandem';
    } else if (name === 'leads') {
      renderLeads();
      document.title = `${leadsTitle(state.route)} · Tandem`;
    } else {
      renderLead();
      document.title = `${state.route.id} · Tandem`;
    }
  }

  // ---------------------------------------------------------------- start

  function start() {
    render();
    requestRefresh();
    connectStream();
  }

  function init() {
    setLang(lsGet(LS_LANG) || 'vi');

    if (!takeTokenFromHash()) state.token = lsGet(LS_TOKEN) || null;
    state.route = parseRoute();

    for (const b of $$('.lang button')) b.addEventListener('click', () => setLang(b.dataset.lang));
    $('#period-from').addEventListener('change', onPeriodChange);
    $('#period-to').addEventListener('change', onPeriodChange);
    $('#period-reset').addEventListener('click', onPeriodReset);
    $('#period-form').addEventListener('submit', (e) => e.preventDefault());
    $('#login-form').addEventListener('submit', onLoginSubmit);
    window.addEventListener('hashchange', onRoute);
    document.addEventListener('visibilitychange', () => { if (!document.hidden && refresh.pending) requestRefresh(); });
    // Webhook deliveries are not in the live stream: on a quiet instance, look every 15 s.
    setInterval(() => {
      if (state.token && state.route.name === 'overview' && Date.now() - live.hooksAt >= 15000) {
        live.changed = live.changed === null ? null : live.changed;
        requestRefresh();
      }
    }, 15000);
    syncPeriodInputs();

    if (state.token) start();
    else showLogin(false);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
