#include "index/stop_words.h"

namespace kr::index {
namespace {

// Sources, copied from bm25s (bm25s/stopwords.py) so that our default analyzer
// matches bm25s' "english" setting, which the relevance comparison uses:
// - English: bm25s STOPWORDS_EN, which is Lucene's classic ENGLISH_STOP_WORDS_SET
//   (33 words). Short on purpose: long lists hurt phrase-like queries ("to be or not").
// - German, French, Spanish, Dutch: the Snowball project's lists as shipped by NLTK
//   (bm25s STOPWORDS_GERMAN/FRENCH/SPANISH/DUTCH).
constexpr std::string_view kEnglish =
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with";

constexpr std::string_view kGerman =
    "aber alle allem allen aller alles als also am an ander andere anderem anderen anderer "
    "anderes anderm andern anderr anders auch auf aus bei bin bis bist da damit dann das dass "
    "dasselbe dazu daß dein deine deinem deinen deiner deines dem demselben den denn denselben "
    "der derer derselbe derselben des desselben dessen dich die dies diese dieselbe dieselben "
    "diesem diesen dieser dieses dir doch dort du durch ein eine einem einen einer eines einig "
    "einige einigem einigen einiger einiges einmal er es etwas euch euer eure eurem euren eurer "
    "eures für gegen gewesen hab habe haben hat hatte hatten hier hin hinter ich ihm ihn ihnen "
    "ihr ihre ihrem ihren ihrer ihres im in indem ins ist jede jedem jeden jeder jedes jene "
    "jenem jenen jener jenes jetzt kann kein keine keinem keinen keiner keines können könnte "
    "machen man manche manchem manchen mancher manches mein meine meinem meinen meiner meines "
    "mich mir mit muss musste nach nicht nichts noch nun nur ob oder ohne sehr sein seine "
    "seinem seinen seiner seines selbst sich sie sind so solche solchem solchen solcher solches "
    "soll sollte sondern sonst um und uns unser unsere unserem unseren unseres unter viel vom "
    "von vor war waren warst was weg weil weiter welche welchem welchen welcher welches wenn "
    "werde werden wie wieder will wir wird wirst wo wollen wollte während würde würden zu zum "
    "zur zwar zwischen über";

constexpr std::string_view kFrench =
    "ai aie aient aies ait as au aura aurai auraient aurais aurait auras aurez auriez aurions "
    "aurons auront aux avaient avais avait avec avez aviez avions avons ayant ayante ayantes "
    "ayants ayez ayons c ce ces d dans de des du elle en es est et eu eue eues eurent eus eusse "
    "eussent eusses eussiez eussions eut eux eûmes eût eûtes furent fus fusse fussent fusses "
    "fussiez fussions fut fûmes fût fûtes il ils j je l la le les leur lui m ma mais me mes moi "
    "mon même n ne nos notre nous on ont ou par pas pour qu que qui s sa se sera serai seraient "
    "serais serait seras serez seriez serions serons seront ses soient sois soit sommes son "
    "sont soyez soyons suis sur t ta te tes toi ton tu un une vos votre vous y à étaient étais "
    "était étant étante étantes étants étiez étions été étée étées étés êtes";

constexpr std::string_view kSpanish =
    "a al algo algunas algunos ante antes como con contra cual cuando de del desde donde "
    "durante e el ella ellas ellos en entre era erais eran eras eres es esa esas ese eso esos "
    "esta estaba estabais estaban estabas estad estada estadas estado estados estamos estando "
    "estar estaremos estará estarán estarás estaré estaréis estaría estaríais estaríamos "
    "estarían estarías estas este estemos esto estos estoy estuve estuviera estuvierais "
    "estuvieran estuvieras estuvieron estuviese estuvieseis estuviesen estuvieses estuvimos "
    "estuviste estuvisteis estuviéramos estuviésemos estuvo está estábamos estáis están estás "
    "esté estéis estén estés fue fuera fuerais fueran fueras fueron fuese fueseis fuesen "
    "fueses fui fuimos fuiste fuisteis fuéramos fuésemos ha habida habidas habido habidos "
    "habiendo habremos habrá habrán habrás habré habréis habría habríais habríamos habrían "
    "habrías habéis había habíais habíamos habían habías han has hasta hay haya hayamos hayan "
    "hayas hayáis he hemos hube hubiera hubierais hubieran hubieras hubieron hubiese hubieseis "
    "hubiesen hubieses hubimos hubiste hubisteis hubiéramos hubiésemos hubo la las le les lo "
    "los me mi mis mucho muchos muy más mí mía mías mío míos nada ni no nos nosotras nosotros "
    "nuestra nuestras nuestro nuestros o os otra otras otro otros para pero poco por porque "
    "que quien quienes qué se sea seamos sean seas sentid sentida sentidas sentido sentidos "
    "seremos será serán serás seré seréis sería seríais seríamos serían serías seáis siente "
    "sin sintiendo sobre sois somos son soy su sus suya suyas suyo suyos sí también tanto te "
    "tendremos tendrá tendrán tendrás tendré tendréis tendría tendríais tendríamos tendrían "
    "tendrías tened tenemos tenga tengamos tengan tengas tengo tengáis tenida tenidas tenido "
    "tenidos teniendo tenéis tenía teníais teníamos tenían tenías ti tiene tienen tienes todo "
    "todos tu tus tuve tuviera tuvierais tuvieran tuvieras tuvieron tuviese tuvieseis tuviesen "
    "tuvieses tuvimos tuviste tuvisteis tuviéramos tuviésemos tuvo tuya tuyas tuyo tuyos tú un "
    "una uno unos vosotras vosotros vuestra vuestras vuestro vuestros y ya yo él éramos";

constexpr std::string_view kDutch =
    "aan al alles als altijd andere ben bij daar dan dat de der deze die dit doch doen door "
    "dus een eens en er ge geen geweest haar had heb hebben heeft hem het hier hij hoe hun "
    "iemand iets ik in is ja je kan kon kunnen maar me meer men met mij mijn moet na naar niet "
    "niets nog nu of om omdat onder ons ook op over reeds te tegen toch toen tot u uit uw van "
    "veel voor want waren was wat werd wezen wie wil worden wordt zal ze zelf zich zij zijn zo "
    "zonder zou";

std::vector<std::string_view> split_words(std::string_view list) {
  std::vector<std::string_view> words;
  size_t start = 0;
  while (start < list.size()) {
    size_t end = list.find(' ', start);
    if (end == std::string_view::npos) end = list.size();
    if (end > start) words.push_back(list.substr(start, end - start));
    start = end + 1;
  }
  return words;
}

}  // namespace

std::vector<std::string_view> builtin_stop_words(std::string_view language) {
  // Names and ISO 639 aliases as libstemmer accepts them (modules.txt).
  if (language == "english" || language == "en" || language == "eng" || language == "porter") {
    return split_words(kEnglish);
  }
  if (language == "german" || language == "de" || language == "ger" || language == "deu") {
    return split_words(kGerman);
  }
  if (language == "french" || language == "fr" || language == "fre" || language == "fra") {
    return split_words(kFrench);
  }
  if (language == "spanish" || language == "es" || language == "esl" || language == "spa") {
    return split_words(kSpanish);
  }
  if (language == "dutch" || language == "nl" || language == "dut" || language == "nld") {
    return split_words(kDutch);
  }
  return {};
}

}  // namespace kr::index
