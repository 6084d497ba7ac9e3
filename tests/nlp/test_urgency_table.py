"""Urgency on real registers: pairs of an urgent message and a near miss that must stay calm.

Every urgent message tells the citizen to call 125 (the fire service), so the calm half of each
pair matters as much as the urgent half: rubble, soil or materials dumped in an alley, spilled
water or garbage, a "dangerous" pothole, old news of a past fire, idioms and questions that
mention the fire service. Registers: short colloquial, 137 call transcripts, long polite letters,
reporter voice, Finglish and Arabic letters. Messages go through the normaliser and then the
detector with `normalized=True`, as `nlp.policy.Router.decide` calls it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from nlp.normalizer import Normalizer
from nlp.urgency import Danger, UrgencyDetector

D = UrgencyDetector()


@dataclass(frozen=True, slots=True)
class Pair:
    """An urgent message (naming `danger`) and a calm message close to it in words or topic."""

    name: str
    urgent: str
    danger: Danger
    calm: str


PAIRS: tuple[Pair, ...] = (
    # --- Collapse of a structure vs rubble, soil, materials, garbage, water, leaves ---
    Pair(
        "wall_bulging_vs_rubble_dumped",
        "دیوار خونه کلنگی سر کوچه شکم داده، هر لحظه ممکنه بریزه رو بچه‌ها که اونجا بازی میکنن",
        Danger.COLLAPSE,
        "یکی نخاله ساختمانی ریخته سر کوچه، یه هفته‌ست کسی جمعش نکرده",
    ),
    Pair(
        "scaffold_leaning_vs_materials_block_alley",
        "ساختمون نیمه‌کاره بغلی داربستش کج شده داره میاد رو کوچه، مردم از زیرش رد میشن",
        Danger.COLLAPSE,
        "بنای ساختمون بغلی مصالح ریخته کل کوچه رو بسته، ماشین نمیتونه رد شه",
    ),
    Pair(
        "reporter_wall_cracked_vs_reporter_night_dumping",
        "اهالی کوچه شهید رضایی در محله نازی‌آباد می‌گویند دیوار فرسوده خانه‌ای متروکه پس از "
        "بارندگی‌های اخیر ترک برداشته و به سمت کوچه خم شده است؛ به گفته آنان هر لحظه احتمال ریزش آن "
        "وجود دارد.",
        Danger.COLLAPSE,
        "ساکنان شهرک ولیعصر از تخلیه شبانه نخاله در زمین‌های بایر محله گلایه دارند. یکی از اهالی "
        "می‌گوید: کامیون‌ها شب‌ها می‌آیند، بار نخاله ساختمانی را همین‌جا ریخته و می‌روند.",
    ),
    Pair(
        "letter_abandoned_building_vs_letter_builder_materials",
        "با سلام و آرزوی قبولی طاعات، خدمت مسئولین محترم شهرداری منطقه ۷. اینجانب ساکن کوچه شهید "
        "احمدی هستم. ساختمان متروکه انتهای کوچه که سال‌هاست رها شده، بعد از بارندگی اخیر دیوار "
        "جنوبی‌اش شکم داده و ممکن است هر لحظه روی رهگذران فرو بریزد. چندین بار با ۱۳۷ تماس گرفته‌ام "
        "اما اقدامی نشده. خواهشمندم پیش از وقوع حادثه رسیدگی فرمایید. با تشکر",
        Danger.COLLAPSE,
        "با سلام و خسته نباشید خدمت شهردار محترم. حدود سه ماه است که مالک ساختمان در حال احداث "
        "پلاک ۲۴ کوچه بهار، نخاله و مصالح ساختمانی را در کوچه ریخته و رفت‌وآمد اهالی مختل شده است. "
        "بارها با سامانه ۱۳۷ تماس گرفتیم ولی کسی پاسخگو نبود. از حضرتعالی تقاضای رسیدگی داریم. "
        "با تشکر",
    ),
    Pair(
        "transcript_walls_leaning_vs_transcript_truck_soil",
        "الو سلام ببخشید یه ساختمون نیمه خراب تو کوچه ما هست دیواراش کج شده داره میاد رو کوچه "
        "مردم میترسن رد شن",
        Danger.COLLAPSE,
        "الو سلام ببخشید یه کامیون اومد خاک ساختمون همسایه رو ریخت سر کوچه رفت الان ماشینا نمیتونن رد شن",
    ),
    Pair(
        "arabic_wall_may_fall_vs_arabic_rubble_at_school",
        "ديوار حياط همسايه كج شده ممكنه بيفته رو ماشينا",
        Danger.COLLAPSE,
        "خاك و نخاله ساختماني ريخته جلوي مدرسه، بچه ها مجبورن از وسط خيابون رد بشن",
    ),
    Pair(
        "finglish_school_wall_vs_finglish_rubble",
        "divar madrese tarak khorde, momkene berize roo bache ha",
        Danger.COLLAPSE,
        "kamion nakhale sakhtemooni rikhte sare koche",
    ),
    Pair(
        "balcony_loose_vs_balcony_soil_spilled",
        "بالکن طبقه دوم ساختمون روبرو لق شده، سنگاش داره میفته تو پیاده‌رو",
        Danger.COLLAPSE,
        "باد گلدونای بالکن همسایه رو انداخته، خاکش ریخته تو پیاده‌رو",
    ),
    Pair(
        "outer_wall_falling_vs_garbage_bags_torn",
        "ساختمون متروکه روبرو که نصفش خراب شده، دیوار بیرونیش داره میریزه تو کوچه، جلوی در مدرسه‌ست",
        Danger.COLLAPSE,
        "گربه‌ها کیسه‌های زباله ساختمون روبرو رو پاره کردن، همه‌ش ریخته تو کوچه",
    ),
    Pair(
        "undermined_wall_vs_burst_pipe_water",
        "لوله آب زیر دیوار همسایه ترکیده، پای دیوار خالی شده و دیوار داره کج میشه",
        Danger.COLLAPSE,
        "لوله آب ساختمون همسایه ترکیده، آب ریخته تو کوچه و همه جا گل شده",
    ),
    Pair(
        "parking_ceiling_vs_water_pouring_in_basement",
        "سقف پارکینگ مجتمع ترک بزرگ برداشته و تیکه‌های بتنش میریزه رو ماشینا",
        Danger.COLLAPSE,
        "لوله آب ترکیده، آب داره میریزه تو زیرزمین همسایه، بیاید شیر اصلی رو ببندید",
    ),
    Pair(
        "garden_wall_vs_leaves_from_building_yard",
        "دیوار باغ قدیمی کنار پیاده‌رو بعد بارون شکم داده، هر لحظه ممکنه بریزه",
        Danger.COLLAPSE,
        "برگ‌های درختای حیاط ساختمون ریخته تو کوچه، رفتگر هم نمیاد جارو کنه",
    ),
    Pair(
        "facade_bricks_falling_vs_bin_overflowing",
        "آجرای نمای ساختمون هشت طبقه داره میریزه پایین، یکیش خورد به شیشه ماشین",
        Danger.COLLAPSE,
        "مخزن پر شده، آشغالا داره میریزه بیرون و بوش کل کوچه رو برداشته",
    ),
    Pair(
        "house_cracked_by_dig_vs_construction_noise_idiom",
        "ساختمون بغلی گودبرداری کرده، دیوار خونه ما ترک برداشته و داره نشست میکنه",
        Danger.COLLAPSE,
        "صدای ساخت‌وساز ساختمون بغلی از صبح تا شب اعصاب همه رو به هم ریخته",
    ),
    Pair(
        "excavation_wall_vs_excavation_soil_in_park",
        "دیواره گود ساختمون نیمه‌کاره ریزش کرده، زیر خونه بغلی خالی شده",
        Danger.COLLAPSE,
        "خاک گود ساختمون روبرو رو ریخته تو پارک محله، چمنا زیر خاک رفته",
    ),
    Pair(
        "reporter_half_demolished_leaning_vs_reporter_addicts",
        "به گفته ساکنان خیابان شوش، ساختمان نیمه‌تخریب‌شده‌ای که از دو سال پیش رها شده به سمت کوچه "
        "متمایل شده و با هر باد تکه‌هایی از آن فرو می‌ریزد.",
        Danger.COLLAPSE,
        "ساختمان نیمه‌تخریب‌شده انتهای خیابان شوش به پاتوق معتادان تبدیل شده و اهالی خواستار پلمب آن هستند.",
    ),
    Pair(
        "old_house_leaning_vs_old_house_demolished_rubble",
        "این خونه کلنگیه نصفش خراب شده، بقیه‌ش کج شده داره میاد رو کوچه",
        Danger.COLLAPSE,
        "خونه کلنگی رو خراب کردن، آجر و نخاله‌هاش ریخته تو زمین خالی بغلش",
    ),
    Pair(
        "sinkhole_by_house_vs_asphalt_caved_in",
        "زمین وسط کوچه نشست کرده و یه گودال بزرگ باز شده، دیوار خونه کناری هم ترک برداشته",
        Danger.COLLAPSE,
        "آسفالت خیابون جلوی بانک فرو ریخته و یه چاله بزرگ درست شده، دورش رو نوار کشیدن",
    ),
    Pair(
        "school_wall_dangerous_vs_pothole_dangerous",
        "دیوار بلند مدرسه کج شده خیلی خطرناکه، بچه‌ها زنگ تفریح کنارش بازی میکنن",
        Danger.COLLAPSE,
        "این چاله وسط خیابون خیلی خطرناکه، دیشب یه موتوری افتاد توش",
    ),
    Pair(
        "underpass_ceiling_vs_open_manhole",
        "سقف زیرگذر عابر پیاده ترک خورده و تیکه‌هاش داره میفته پایین",
        Danger.COLLAPSE,
        "دریچه فاضلاب وسط کوچه بازه، خیلی خطرناکه یکی میفته توش",
    ),
    Pair(
        "wall_fell_before_and_leans_now_vs_roof_fell_last_year",
        "پارسال یه تیکه از این دیوار ریخت، الان بقیه‌ش هم کج شده و داره میاد پایین",
        Danger.COLLAPSE,
        "پارسال سقف انبار شهرداری فرو ریخت، هنوز بازسازیش نکردن",
    ),
    Pair(
        "retaining_wall_collapsing_vs_leaf_fall",
        "ریزش دیوار حائل کنار رودخونه شروع شده، خونه‌های لب رودخونه در خطرن",
        Danger.COLLAPSE,
        "ریزش برگ درختا تو پاییز جوب رو پر کرده و آب بارون میاد تو کوچه",
    ),
    Pair(
        "stray_dogs_near_leaning_wall_vs_stray_dogs",
        "دیوار باغ کنار پارک کج شده، هر لحظه ممکنه بریزه رو بچه‌ها",
        Danger.COLLAPSE,
        "سگای ولگرد تو پارک خیلی خطرناکن، دیروز به یه بچه حمله کردن",
    ),
    Pair(
        "part_of_wall_fell_rest_cracked_vs_wall_materials_dumped",
        "دیروز یه تیکه از دیوار خونه متروکه ریخت تو کوچه، بقیه‌ش هم ترک داره",
        Danger.COLLAPSE,
        "مصالح ریخته کل کوچه رو بسته، از دیوار به دیوار",
    ),
    Pair(
        "bus_shelter_roof_falling_vs_bus_shelter_roof_leaking",
        "سقف ایستگاه اتوبوس از یه طرف کنده شده و داره میفته رو سر مسافرا",
        Danger.COLLAPSE,
        "سقف ایستگاه اتوبوس سوراخه، آب بارون میریزه رو سر مسافرا",
    ),
    # --- Trees: on power lines is urgent, a dry or fallen tree is green space ---
    Pair(
        "tree_leaning_on_lines_vs_dry_tree_may_fall",
        "درخت چنار سر کوچه با باد کج شده تکیه داده به سیمای برق، هر لحظه ممکنه سیما پاره شن",
        Danger.ELECTRIC,
        "درخت خشک جلوی خونه‌مون کج شده، ممکنه بیفته رو ماشینا، بیاید قطعش کنید",
    ),
    Pair(
        "branch_on_lines_vs_branch_on_sidewalk",
        "شاخه بزرگ درخت شکسته افتاده روی سیم‌های برق کوچه",
        Danger.ELECTRIC,
        "شاخه بزرگ درخت شکسته افتاده وسط پیاده‌رو، کسی جمعش نمیکنه",
    ),
    # --- Fire vs old news, idioms, the fire service named in a question or a suggestion ---
    Pair(
        "store_on_fire_vs_store_burned_last_year",
        "سلام کمک کنید انبار پشت مغازه‌مون آتیش گرفته، شعله‌ش داره میره سمت پشت‌بوم",
        Danger.FIRE,
        "سلام پارسال انبار پشت مغازه‌مون آتیش گرفت، هنوز بیمه خسارتش رو نداده، شهرداری هم جواب نمیده",
    ),
    Pair(
        "reporter_flat_on_fire_vs_reporter_year_after_fire",
        "به گزارش خبرنگار ما، دقایقی پیش یک واحد مسکونی در طبقه سوم مجتمعی در خیابان ستارخان دچار "
        "حریق شد و دود غلیظ از پنجره‌ها بیرون می‌زند.",
        Danger.FIRE,
        "یک سال پس از آتش‌سوزی بازار کفاش‌ها، هنوز غرفه‌های سوخته بازسازی نشده و کسبه از بلاتکلیفی گلایه دارند.",
    ),
    Pair(
        "kitchen_on_fire_vs_heart_on_fire_idiom",
        "آشپزخونه همسایه آتیش گرفته، دودش از پنجره میزنه بیرون",
        Danger.FIRE,
        "دلمون آتیش گرفت وقتی دیدیم درختای پارک رو بی‌دلیل قطع کردن",
    ),
    Pair(
        "call_the_brigade_vs_fire_permit_question",
        "آتش‌نشانی رو خبر کنید، کارگاه نجاری ته کوچه داره میسوزه",
        Danger.FIRE,
        "ببخشید برای تاییدیه آتش‌نشانی ساختمون باید به کجا مراجعه کنم؟ شماره‌ای هست؟",
    ),
    Pair(
        "car_on_fire_vs_fire_station_suggestion",
        "ماشین وسط پارکینگ مجتمع آتیش گرفته، به ۱۲۵ زنگ زدیم هنوز نرسیدن",
        Danger.FIRE,
        "پیشنهاد میکنم یه ایستگاه آتش‌نشانی تو شهرک جدید بسازید، نزدیک‌ترین ایستگاه بیست دقیقه راهه",
    ),
    Pair(
        "firecracker_bin_fire_vs_fireworks_noise",
        "بچه‌ها ترقه انداختن تو سطل زباله، آتیش گرفته و نزدیک ماشیناست",
        Danger.FIRE,
        "شب چهارشنبه‌سوری تا صبح صدای ترقه و آتیش‌بازی تو کوچه میاد، نمیشه خوابید",
    ),
    Pair(
        "finglish_store_fire_vs_finglish_last_year",
        "atish gerefte anbar poshte maghaze, zood biayd",
        Danger.FIRE,
        "parsal anbar poshte maghaze atish gereft, hanooz khesarat nadadan",
    ),
    Pair(
        "arabic_basement_fire_vs_arabic_inspection_question",
        "انباري زيرزمين آتيش گرفته دود همه جا رو گرفته",
        Danger.FIRE,
        "آتش‌نشاني كي مياد براي بازديد ايمني پاساژ؟ ما درخواست داديم",
    ),
    Pair(
        "campfire_spreading_vs_homeless_campfire",
        "یکی کنار درختای پارک آتیش روشن کرده ول کرده رفته، با باد داره پخش میشه",
        Danger.FIRE,
        "کارتن‌خوابا زیر پل شبا آتیش روشن میکنن که گرم شن، بیاید یه فکری براشون بکنید",
    ),
    Pair(
        "roadside_trees_burning_vs_burned_trees_last_year",
        "درختای کنار بزرگراه آتیش گرفته، دودش اومده رو اتوبان",
        Danger.FIRE,
        "پارسال کنار بزرگراه آتیش‌سوزی شد، هنوز تنه درختای سوخته همونجا مونده، جاشون نهال بکارید",
    ),
    Pair(
        "bin_on_fire_vs_bin_overflowing",
        "مخزن زباله سر کوچه آتیش گرفته، دودش اومده تو خونه‌ها",
        Danger.FIRE,
        "زباله‌ها از مخزن ریخته بیرون، کل کوچه بو گرفته",
    ),
    # --- Smoke vs pollution from a bakery, factory, restaurant ---
    Pair(
        "basement_smoke_vs_bakery_smoke",
        "دود سیاه از زیرزمین ساختمون ما بیرون میاد، کسی خونه نیست در رو باز کنه",
        Danger.SMOKE,
        "دود نانوایی سر کوچه هر صبح میاد تو خونه‌ها، بچه‌ها سرفه میکنن",
    ),
    Pair(
        "transcript_roof_smoke_vs_transcript_factory_smoke",
        "الو سلام از پشت بوم ساختمون بغلی دود غلیظ بلند شده فکر کنم آتیش گرفته",
        Danger.SMOKE,
        "الو سلام کارخونه آسفالت پشت شهرک شبا دود غلیظ میده بیرون نفسمون بند میاد",
    ),
    Pair(
        "burning_plastic_smell_vs_kebab_smoke",
        "بوی سوختگی و پلاستیک سوخته از تابلو برق راه‌پله میاد",
        Danger.SMOKE,
        "بوی کباب و دود منقل رستوران تا طبقه سوم میاد، پنجره رو نمیشه باز کرد",
    ),
    Pair(
        "reporter_smoke_from_building_vs_reporter_brick_kiln",
        "شهروندان از مشاهده دود غلیظ از پنجره‌های یک ساختمان متروکه در خیابان مولوی خبر می‌دهند.",
        Danger.SMOKE,
        "اهالی شهرک صنعتی از دود و بوی تند کارخانه آجرپزی مجاور گلایه دارند و می‌گویند شب‌ها دود "
        "غلیظ همه‌جا را می‌گیرد.",
    ),
    Pair(
        "finglish_basement_smoke_vs_finglish_bakery_smoke",
        "dood ziad az zirzamin miad biroon",
        Danger.SMOKE,
        "dood nanvayi miad too khoone ha",
    ),
    Pair(
        "fuel_spilled_smoking_vs_oil_dumped_in_gutter",
        "بنزین موتوری که تصادف کرده ریخته رو زمین و داره دود میکنه، مردم جمع شدن",
        Danger.SMOKE,
        "روغن سوخته مکانیکی رو ریخته تو جوب، بوش کل کوچه رو گرفته",
    ),
    # --- Gas vs the gas company's digging, cylinders on the sidewalk, a fixed leak ---
    Pair(
        "gas_smell_in_alley_vs_gas_company_soil",
        "بوی گاز شدیدی تو کوچه پیچیده، فکر کنم لوله اصلی نشتی داره",
        Danger.GAS,
        "شرکت گاز کوچه رو کنده و لوله‌کشی کرده رفته، خاکش هنوز وسط کوچه ریخته",
    ),
    Pair(
        "finglish_gas_smell_vs_finglish_rubble_blocks_alley",
        "booye gaz shadid miad too rahpele",
        Danger.GAS,
        "kamion nakhale rikhte sare koche, koche baste shode",
    ),
    Pair(
        "arabic_gas_meter_vs_arabic_bill_question",
        "بوي گاز از كنتور ساختمون مياد، همسايه ها ترسيدن",
        Danger.GAS,
        "پول گاز و آب و برق پارك رو كي ميده؟ سوال داشتم",
    ),
    Pair(
        "leaking_cylinder_vs_cylinders_on_sidewalk",
        "کپسول گاز رستوران کنار پیاده‌رو افتاده و نشتی داره، فس فس میکنه",
        Danger.GAS,
        "کپسول‌های خالی گاز رو جلوی مغازه رو پیاده‌رو چیدن، راه رفتن سخته",
    ),
    Pair(
        "gas_smell_at_school_vs_gas_smell_gone",
        "از صبح بوی گاز تو راهروی مدرسه میاد، بچه‌ها سردرد گرفتن",
        Danger.GAS,
        "بوی گاز نمیاد دیگه، دیروز اومدن شیر رو عوض کردن، ممنون",
    ),
    Pair(
        "reporter_gas_smell_vs_reporter_gas_trenches",
        "به گفته اهالی خیابان امام رضا، از صبح امروز بوی شدید گاز در محله پیچیده و مأموران هنوز نیامده‌اند.",
        Danger.GAS,
        "اهالی محله کوی فرهنگیان از کندی عملیات گازرسانی گلایه دارند؛ ترانشه‌های شرکت گاز یک ماه است "
        "باز مانده و خاک آن در کوچه ریخته است.",
    ),
    Pair(
        "transcript_cylinder_fell_off_van_vs_transcript_cylinder_seller_noise",
        "الو ببخشید یه کپسول گاز از پشت وانت افتاده وسط خیابون مردم دورش جمع شدن نشتی داره صدای فس فس میده",
        Danger.GAS,
        "الو ببخشید یه وانت کپسول گاز میفروشه هر روز صبح با بلندگو داد میزنه خواب نداریم",
    ),
    # --- Electricity vs lights off, untidy cables, utility questions ---
    Pair(
        "hanging_wire_vs_untidy_cables",
        "سیم برق از تیر کنده شده و آویزونه تا نزدیک زمین، بچه‌ها از زیرش رد میشن",
        Danger.ELECTRIC,
        "سیم‌های تلفن و کابل اینترنت رو شلخته رو دیوار کوچه کشیدن، منظره کوچه رو زشت کرده",
    ),
    Pair(
        "sparking_pole_vs_pole_light_off",
        "تیر برق کوچه جرقه میزنه و صدای تق تق میده",
        Danger.ELECTRIC,
        "تیر چراغ برق کوچه سه شبه خاموشه، کوچه تاریکه",
    ),
    Pair(
        "cable_snapped_on_cars_vs_cables_dumped",
        "کابل برق فشار قوی با باد پاره شده افتاده رو ماشینا",
        Danger.ELECTRIC,
        "کابل‌های اضافه مخابرات رو ریختن کنار جوب و رفتن، جمعش کنید",
    ),
    Pair(
        "flooded_switchboard_vs_flooded_basement",
        "آب بارون رفته تو زیرزمین، تابلو برق زیر آبه و جرقه میزنه",
        Danger.ELECTRIC,
        "آب بارون رفته تو زیرزمین، پمپ نداریم بیاید تخلیه کنید",
    ),
    Pair(
        "child_shocked_vs_kiosk_connection_question",
        "بچه همسایه دست زد به پایه چراغ پارک، برق گرفتش",
        Danger.ELECTRIC,
        "هزینه برق گرفتن برای کیوسک روزنامه‌فروشی چقدره؟",
    ),
    Pair(
        "arabic_bare_wire_vs_arabic_light_off",
        "سيم برق لخت از تير آويزونه، نزديك مدرسه",
        Danger.ELECTRIC,
        "تير چراغ برق كوچه از هفته پيش خاموشه",
    ),
    Pair(
        "finglish_wire_down_vs_finglish_light_off",
        "sim bargh oftade vasat koche, bache ha bazi mikonan",
        Danger.ELECTRIC,
        "cheragh bargh koche khamooshe az dishab",
    ),
    Pair(
        "open_socket_by_fountain_vs_dirty_fountain",
        "پریز برق کنار آبنمای پارک کنده شده سیماش بیرونه، همیشه هم خیسه",
        Danger.ELECTRIC,
        "آبنمای پارک خاموشه و آبش کثیف شده، بوی لجن میده",
    ),
)


def _reasons(normalizer: Normalizer, raw: str) -> tuple[Danger, ...]:
    return D.detect(normalizer.normalize(raw), normalized=True).reasons


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: p.name)
def test_urgent_half_is_urgent(normalizer: Normalizer, pair: Pair) -> None:
    assert pair.danger in _reasons(normalizer, pair.urgent)


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: p.name)
def test_calm_half_is_not_urgent(normalizer: Normalizer, pair: Pair) -> None:
    assert _reasons(normalizer, pair.calm) == ()


def test_table_is_distinct() -> None:
    texts = [t for p in PAIRS for t in (p.urgent, p.calm)]
    assert len({p.name for p in PAIRS}) == len(PAIRS)
    assert len(set(texts)) == len(texts)
