"""Work-order form filler (工单 entity extraction), incremental over the turns of a call.

    from copilot.form import FormFiller, extract_call
    filler = FormFiller(call_time=datetime.now())
    changed = filler.update(3, "caller", "我叫陈丽华，电话一三八，五七一六，二二一八。")
    filler.form.as_dict()
"""

from copilot.form.fields import FIELD_NAMES, FieldValue, WorkOrderForm
from copilot.form.filler import FormFiller, extract_call, extract_text

__all__ = ["FIELD_NAMES", "FieldValue", "FormFiller", "WorkOrderForm", "extract_call",
           "extract_text"]
