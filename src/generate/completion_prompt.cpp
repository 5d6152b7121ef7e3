// The few-shot frame of completion-style prompts (prompt.h): a base model continues text, so
// instead of instructions it is shown two answered examples and then the real question.
#include <string>
#include <string_view>
#include <vector>

#include "generate/prompt.h"

namespace kr::generate {

namespace {

// The examples' answers restate the fact in a short sentence with its source number: what the
// model is to imitate, rather than copying whole sources.
constexpr std::string_view kFewShot =
    "Each question below is answered in one short sentence from the numbered sources, citing the source by "
    "its number.\n"
    "\n"
    "Sources:\n"
    "[1] (travel-policy.pdf, page 2)\n"
    "Flights shorter than six hours are booked in economy class. Longer flights may be booked in business "
    "class when a manager approves.\n"
    "[2] (expenses.md)\n"
    "Receipts for every expense are submitted within 30 days.\n"
    "Question: Which class is booked for a four-hour flight?\n"
    "Answer: A four-hour flight is booked in economy class [1].\n"
    "\n"
    "Sources:\n"
    "[1] (lab-manual.docx)\n"
    "Safety goggles are worn in the laboratory at all times.\n"
    "[2] (lab-manual.docx)\n"
    "Acid spills are neutralised with sodium bicarbonate before they are wiped up. The waste goes into the "
    "red container.\n"
    "Question: What neutralises an acid spill?\n"
    "Answer: Sodium bicarbonate neutralises acid spills [2].\n"
    "\n"
    "Sources:\n";

}  // namespace

std::string completion_prompt_text(std::string_view sources, std::string_view question) {
  std::string out(kFewShot);
  out += sources.empty() ? std::string_view("(none)\n") : sources;
  out += "Question: ";
  out += question;
  out += "\nAnswer:";
  return out;
}

const std::vector<std::string>& completion_stop_sequences() {
  // The worked answers are one line; a base model that goes on invents the next source ("\n[4] ...").
  static const std::vector<std::string> stops = {"\n", "Question:", "Sources:"};
  return stops;
}

}  // namespace kr::generate
